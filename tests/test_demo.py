"""`load_demo`: Puyang's real counties and townships, synthetic villages, units and one account per role."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organisation, OrganisationKind, Role, User
from registry.models import Region, RegionLevel


def _snapshot():
    return (
        sorted(Region.objects.values_list("code", "name", "level", "parent__code")),
        sorted(Organisation.objects.values_list("name", "kind", "region__code", "is_leading_office")),
        sorted(User.objects.values_list("username", "role", "region__code", "organisation__name")),
    )


@pytest.fixture
def demo(db):
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_is_deterministic(demo):
    first = _snapshot()
    call_command("load_demo", stdout=StringIO())
    assert _snapshot() == first


def test_demo_regions_are_puyang(demo):
    levels = Counter(Region.objects.values_list("level", flat=True))
    assert levels[RegionLevel.CITY] == 1
    assert levels[RegionLevel.COUNTY] == 6
    assert levels[RegionLevel.TOWNSHIP] == 89
    per_township = Counter(
        Region.objects.at_level(RegionLevel.VILLAGE).values_list("parent__code", flat=True)
    )
    assert len(per_township) == 89
    assert min(per_township.values()) >= 20
    assert max(per_township.values()) <= 40
    for village in Region.objects.at_level(RegionLevel.VILLAGE).select_related("parent"):
        assert village.code.startswith(village.parent.prefix)


def test_demo_member_units_and_offices(demo):
    units = Organisation.objects.filter(kind=OrganisationKind.MEMBER_UNIT)
    assert units.count() == 32
    assert list(units.filter(is_leading_office=True).values_list("name", flat=True)) == ["市民政局"]
    assert Organisation.objects.filter(kind=OrganisationKind.CIVIL_AFFAIRS).count() == 6 + 89
    assert (
        Organisation.objects.filter(kind=OrganisationKind.VILLAGE_COMMITTEE).count()
        == Region.objects.at_level(RegionLevel.VILLAGE).count()
    )


def test_demo_prints_the_logins(demo):
    assert f"密码均为 {DEMO_PASSWORD}" in demo
    for username in ("cadre1", "cadre2", "township", "county", "city", "supervisor", "liaison", "admin"):
        assert f"  {username} " in demo


@pytest.mark.parametrize(
    ("username", "role", "scope"),
    [
        ("cadre1", Role.VILLAGE_CADRE, "410922100"),
        ("cadre2", Role.VILLAGE_CADRE, "410922100"),
        ("township", Role.TOWNSHIP_REVIEWER, "410922100000"),
        ("county", Role.COUNTY_OFFICER, "410922000000"),
        ("city", Role.CITY_OFFICE, "410900000000"),
        ("supervisor", Role.SUPERVISOR, "410900000000"),
        ("liaison", Role.LIAISON, "410900000000"),
        ("admin", Role.SYSADMIN, None),
    ],
)
def test_each_demo_account_logs_in_to_its_home(client, demo, username, role, scope):
    user = User.objects.get(username=username)
    assert user.role == role
    if scope is None:
        assert user.region is None
    else:
        assert user.region.code.startswith(scope)
    response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert home.context["user"].username == username


def test_demo_supervisor_is_assigned_nanle(demo):
    assert list(User.objects.get(username="supervisor").assigned_regions.values_list("name", flat=True)) == [
        "南乐县"
    ]


def test_demo_admin_manages_accounts_but_reads_no_records(demo):
    admin = User.objects.get(username="admin")
    assert admin.is_staff is True
    assert admin.is_superuser is False
    assert admin.has_perm("accounts.change_user")
    assert admin.has_perm("registry.change_region")
    models = {perm.split(".")[1].split("_", 1)[1] for perm in admin.get_all_permissions()}
    assert models == {"user", "organisation", "region", "accessattempt"}


def test_demo_admin_reaches_the_admin_pages(client, demo):
    client.force_login(User.objects.get(username="admin"))
    for url in ("admin:index", "admin:accounts_user_changelist", "admin:registry_region_changelist"):
        assert client.get(reverse(url)).status_code == 200
