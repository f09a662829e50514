"""Demo organisations and one account per role, all with one printed password."""

from django.contrib.auth.hashers import make_password

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import organisations_seed_member_units, user_upsert
from registry.models import Region, RegionLevel

DEMO_PASSWORD = "Puyang2022demo"


def _offices(city):
    """Civil affairs offices of every county and township, and a committee per village."""
    regions = list(Region.objects.in_region(city).exclude(level=RegionLevel.CITY))
    suffix = {RegionLevel.COUNTY: "民政局", RegionLevel.TOWNSHIP: "民政所", RegionLevel.VILLAGE: "委员会"}
    kind = {RegionLevel.VILLAGE: OrganisationKind.VILLAGE_COMMITTEE}
    existing = set(Organisation.objects.filter(region__in=regions).values_list("region_id", "name"))
    new = [
        Organisation(
            name=f"{region.name}{suffix[region.level]}",
            kind=kind.get(region.level, OrganisationKind.CIVIL_AFFAIRS),
            region=region,
        )
        for region in regions
        if (region.pk, f"{region.name}{suffix[region.level]}") not in existing
    ]
    Organisation.objects.bulk_create(new)


def demo_accounts_load(*, city):
    """Member units, offices and the demo accounts of ``city``; returns [(username, role label, scope)]."""
    organisations_seed_member_units(city=city)
    _offices(city)
    counties = list(Region.objects.in_region(city).at_level(RegionLevel.COUNTY))
    by_name = {c.name: c for c in counties}
    county = by_name.get("清丰县", counties[0])
    supervised = [by_name.get("南乐县", counties[-1])]
    township = Region.objects.in_region(county).at_level(RegionLevel.TOWNSHIP).first()
    village1, village2 = Region.objects.in_region(township).at_level(RegionLevel.VILLAGE)[:2]
    org = {
        o.region_id: o for o in Organisation.objects.filter(region__in=[county, township, village1, village2])
    }
    bureau = Organisation.objects.get(region=city, is_leading_office=True)
    education = Organisation.objects.get(region=city, name="市教育局")
    police = Organisation.objects.get(region=city, name="市公安局")
    accounts = [
        ("cadre1", Role.VILLAGE_CADRE, village1, "张村官", org[village1.pk], ()),
        ("cadre2", Role.VILLAGE_CADRE, village2, "李主任", org[village2.pk], ()),
        ("township", Role.TOWNSHIP_REVIEWER, township, "王督导", org[township.pk], ()),
        ("county", Role.COUNTY_OFFICER, county, "赵民政", org[county.pk], ()),
        ("city", Role.CITY_OFFICE, city, "刘主任", bureau, ()),
        ("supervisor", Role.SUPERVISOR, city, "陈督导", bureau, supervised),
        ("liaison", Role.LIAISON, city, "周联络", education, ()),
        # The 公安 liaison: reads every case of the city, abuse cases included (policy.can_read_case).
        ("police", Role.LIAISON, city, "钱警官", police, ()),
        ("hotline", Role.HOTLINE_OPERATOR, city, "孙接线", bureau, ()),
        ("admin", Role.SYSADMIN, None, "孙管理", None, ()),
        ("secadmin", Role.SECURITY_ADMIN, None, "吴安全", None, ()),
        ("auditor", Role.AUDIT_ADMIN, None, "郑审计", None, ()),
    ]
    rows = []
    for username, role, region, name, organisation, assigned in accounts:
        user_upsert(
            username=username,
            role=role,
            region=region,
            password=DEMO_PASSWORD,
            name=name,
            organisation=organisation,
            assigned_regions=assigned,
        )
        scope = "、".join(r.name for r in assigned) if assigned else (region.full_name if region else "—")
        rows.append((username, role.label, scope))
    return rows


def demo_staff_load(*, city):
    """A reviewer for every township and an officer for every county that has none yet
    (usernames town<code9>, county<code6>; the demo password), so that every demo return has
    a plausible actor. One password hash for all: hashing thousands of times would be slow."""
    taken = set(User.objects.filter(region__isnull=False).values_list("region_id", "role"))
    hashed = make_password(DEMO_PASSWORD)
    wanted = [
        (region, Role.TOWNSHIP_REVIEWER if region.level == RegionLevel.TOWNSHIP else Role.COUNTY_OFFICER)
        for region in Region.objects.in_region(city).filter(
            level__in=[RegionLevel.TOWNSHIP, RegionLevel.COUNTY]
        )
    ]
    new = [
        User(
            username=f"{'town' if role == Role.TOWNSHIP_REVIEWER else 'county'}{region.prefix}",
            role=role,
            region=region,
            password=hashed,
            last_name="演",
            first_name=f"示{region.name}",
        )
        for region, role in wanted
        if (region.pk, role) not in taken
    ]
    User.objects.bulk_create(new)
    return len(new)
