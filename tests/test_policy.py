"""The one access policy, for every role: which regions it sees, what it may do where."""

import pytest

from accounts import policy
from accounts.models import Role
from registry.models import Region
from tests.factories import UserFactory

VILLAGE_A, VILLAGE_B, VILLAGE_C = "410922100201", "410922100202", "410923100201"
ALL_VILLAGES = {
    "410922100201",
    "410922100202",
    "410922101201",
    "410922101202",
    "410923100201",
    "410923100202",
    "410923101201",
    "410923101202",
}
COUNTY1_VILLAGES = {code for code in ALL_VILLAGES if code.startswith("410922")}
COUNTY2_VILLAGES = {code for code in ALL_VILLAGES if code.startswith("410923")}

# Which villages' records each role may read.
READABLE_VILLAGES = {
    "cadre_a": {VILLAGE_A},
    "cadre_b": {VILLAGE_B},
    "cadre_c": {VILLAGE_C},
    "township": {VILLAGE_A, VILLAGE_B},
    "county": COUNTY1_VILLAGES,
    "city": ALL_VILLAGES,
    "supervisor": COUNTY2_VILLAGES,
    "liaison": ALL_VILLAGES,
    "sysadmin": set(),
}
# Which villages' records each role may create and correct.
EDITABLE_VILLAGES = {
    "cadre_a": {VILLAGE_A},
    "cadre_b": {VILLAGE_B},
    "cadre_c": {VILLAGE_C},
    "township": {VILLAGE_A, VILLAGE_B},
    "county": COUNTY1_VILLAGES,
    "city": set(),
    "supervisor": set(),
    "liaison": set(),
    "sysadmin": set(),
}


def _villages():
    return Region.objects.filter(level="village")


@pytest.mark.parametrize("who", sorted(READABLE_VILLAGES))
def test_record_scope_per_role(cast, who):
    user = cast[who]
    visible = set(_villages().in_prefixes(policy.record_prefixes(user)).values_list("code", flat=True))
    assert visible == READABLE_VILLAGES[who]
    assert {v.code for v in _villages() if policy.can_read_records(user, v)} == READABLE_VILLAGES[who]


@pytest.mark.parametrize("who", sorted(EDITABLE_VILLAGES))
def test_edit_scope_per_role(cast, who):
    user = cast[who]
    assert {v.code for v in _villages() if policy.can_edit_records(user, v)} == EDITABLE_VILLAGES[who]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("cadre_a", {VILLAGE_A}),
        ("township", {"410922100000", VILLAGE_A, VILLAGE_B}),
        ("supervisor", {"410923000000"} | {f"410923{t}000" for t in ("100", "101")} | COUNTY2_VILLAGES),
    ],
)
def test_visible_regions_are_the_scope_subtree(cast, who, expected):
    assert set(Region.objects.visible_to(cast[who]).values_list("code", flat=True)) == expected


def test_system_admin_sees_every_region_but_no_record(cast):
    admin = cast["sysadmin"]
    assert Region.objects.visible_to(admin).count() == Region.objects.count()
    assert policy.record_prefixes(admin) == []
    assert policy.can_manage_accounts(admin) is True
    assert policy.can_manage_regions(admin) is True


@pytest.mark.parametrize("who", ["cadre_a", "township", "county", "city", "supervisor", "liaison"])
def test_only_the_system_admin_manages_accounts(cast, who):
    assert policy.can_manage_accounts(cast[who]) is False
    assert policy.can_manage_regions(cast[who]) is False


def test_anonymous_and_inactive_users_see_nothing(cast, tree):
    from django.contrib.auth.models import AnonymousUser

    inactive = cast["city"]
    inactive.is_active = False
    for user in (AnonymousUser(), inactive):
        assert policy.region_prefixes(user) == []
        assert Region.objects.visible_to(user).count() == 0
        assert policy.can_read_records(user, tree[VILLAGE_A]) is False


def test_user_without_role_or_region_sees_nothing(db, tree):
    no_role = UserFactory(role="", region=tree["4109"])
    no_region = UserFactory(role=Role.COUNTY_OFFICER, region=None)
    for user in (no_role, no_region):
        assert Region.objects.visible_to(user).count() == 0


def test_supervisor_without_assignment_supervises_the_city(db, tree):
    user = UserFactory(role=Role.SUPERVISOR, region=tree["4109"])
    assert policy.scope_prefixes(user) == ["4109"]


@pytest.mark.parametrize(
    ("who", "township", "expected"),
    [
        ("township", "410922100", True),
        ("township", "410922101", False),
        ("county", "410922100", False),
        ("cadre_a", "410922100", False),
    ],
)
def test_can_review_villages(cast, tree, who, township, expected):
    assert policy.can_review_villages(cast[who], tree[township]) is expected


@pytest.mark.parametrize(
    ("who", "county", "expected"),
    [("county", "410922", True), ("county", "410923", False), ("city", "410922", False)],
)
def test_can_approve_townships(cast, tree, who, county, expected):
    assert policy.can_approve_townships(cast[who], tree[county]) is expected


@pytest.mark.parametrize(
    ("who", "county", "expected"),
    [
        ("supervisor", "410923", True),
        ("supervisor", "410922", False),
        ("city", "410922", True),
        ("county", "410922", False),
        ("liaison", "410922", False),
    ],
)
def test_can_inspect(cast, tree, who, county, expected):
    assert policy.can_inspect(cast[who], tree[county]) is expected


@pytest.mark.parametrize(
    ("who", "expected"), [("city", True), ("county", False), ("supervisor", False), ("sysadmin", False)]
)
def test_can_run_campaigns(cast, who, expected):
    assert policy.can_run_campaigns(cast[who]) is expected


@pytest.mark.parametrize(
    ("who", "region", "expected"),
    [
        ("county", "410922", True),
        ("county", "410923", False),
        ("city", "410923", True),
        ("township", "410922100", False),
        ("cadre_a", VILLAGE_A, False),
    ],
)
def test_can_import_rosters(cast, tree, who, region, expected):
    assert policy.can_import_rosters(cast[who], tree[region]) is expected


@pytest.mark.parametrize(("who", "expected"), [("liaison", True), ("city", False), ("county", False)])
def test_only_liaisons_see_masked_records(cast, who, expected):
    assert policy.sees_masked_records(cast[who]) is expected


@pytest.mark.parametrize(
    ("role", "region_key", "error"),
    [
        (Role.VILLAGE_CADRE, "410922100", "角色“村干部/儿童主任”应绑定村级区划。"),
        (Role.COUNTY_OFFICER, None, "角色“县级民政”必须绑定管辖区划。"),
        (Role.SYSADMIN, "4109", "系统管理员不绑定管辖区划。"),
    ],
)
def test_role_must_match_its_region_level(db, tree, role, region_key, error):
    from django.core.exceptions import ValidationError

    user = UserFactory.build(role=role, region=tree[region_key] if region_key else None)
    with pytest.raises(ValidationError) as exc:
        user.clean()
    assert exc.value.message_dict["region"] == [error]
