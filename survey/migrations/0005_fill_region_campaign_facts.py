"""The registry's copy of the running campaign's facts (registry 0014): the reference date on the
campaign's region, and the lock on every village whose return is approved."""

from django.db import migrations

LOCKED = ("township_approved", "county_approved")


def fill(apps, schema_editor):
    Campaign = apps.get_model("survey", "Campaign")
    VillageReturn = apps.get_model("survey", "VillageReturn")
    Region = apps.get_model("registry", "Region")
    for campaign in Campaign.objects.filter(status="active"):
        Region.objects.filter(pk=campaign.region_id).update(campaign_reference_date=campaign.reference_date)
        villages = VillageReturn.objects.filter(campaign=campaign, state__in=LOCKED).values("village_id")
        Region.objects.filter(pk__in=villages).update(records_locked=True)


def empty(apps, schema_editor):
    Region = apps.get_model("registry", "Region")
    Region.objects.update(records_locked=False, campaign_reference_date=None)


class Migration(migrations.Migration):
    dependencies = [
        ("survey", "0004_return_submitted_on_behalf"),
        ("registry", "0014_region_campaign_facts"),
    ]

    operations = [migrations.RunPython(fill, empty)]
