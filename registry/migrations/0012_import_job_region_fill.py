"""Record on every existing import job the region it was uploaded for: its owner's region.

A job whose owner no longer has a region cannot say where it belonged: its personal data (file,
errors, invalid rows) is deleted and it is filed under the topmost region, where only its owner
holding that whole region could open it (and would find only the counts).
"""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Now


def fill_region(apps, schema_editor):
    ImportJob = apps.get_model("registry", "ImportJob")
    Region = apps.get_model("registry", "Region")
    # One UPDATE per owner: an UPDATE that reads the owner's row is not portable.
    for owner_id, region_id in (
        ImportJob.objects.filter(region__isnull=True, owner__region__isnull=False)
        .values_list("owner_id", "owner__region_id")
        .distinct()
    ):
        ImportJob.objects.filter(region__isnull=True, owner_id=owner_id).update(region_id=region_id)
    orphans = ImportJob.objects.filter(region__isnull=True)
    if orphans.exists():
        top = Region.objects.order_by(F("parent").asc(nulls_first=True), "code").first()
        orphans.update(region=top, content=None, invalid_rows=None, errors=[], data_deleted_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0011_import_job_region_and_data_deleted"),
    ]

    operations = [
        migrations.RunPython(fill_region, migrations.RunPython.noop),
    ]
