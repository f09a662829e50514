"""`load_demo`: Puyang's real regions, synthetic villages, units, one account per role, the
synthetic registry (the 2022 campaign's 15,362 children and 3,712 women, and elders), the
2022 campaign's returns and an inspection.

Loading it takes seconds, so the module loads it once, in a transaction rolled back at the end
of the module; each test runs in a savepoint inside it.
"""

import hashlib
from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import policy
from accounts.demo import DEMO_PASSWORD
from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.otp import otp_required
from care.boards import in_state, region_counts
from care.models import (
    CareWorker,
    Case,
    CaseEvent,
    CaseState,
    ChildCare,
    HotlineCall,
    LevelOverride,
    Referral,
    SupervisionDiary,
    Visit,
)
from care.workers import care_worker_gaps
from registry import rules
from registry.choices import GuardianshipType, HistorySource, LeftBehindType, Schooling
from registry.demo import (
    BIRTHDAY_MARGIN,
    DEMO_CHILDREN,
    DEMO_ELDERS,
    DEMO_WOMEN,
    HOME_VILLAGE_MIN_CHILDREN,
    demo_registry_generate,
)
from registry.models import Child, Elder, IdentityClaim, Region, RegionLevel, Woman
from registry.records import reference_date
from survey import services as survey_services
from survey.models import (
    Campaign,
    Inspection,
    Rectification,
    RectificationStatus,
    ReturnState,
    VillageReturn,
)
from tests.factories import enrol_second_factor
from workflow import clock

PUYANG_COUNTIES = ["410902", "410922", "410923", "410926", "410927", "410928"]
MODELS = (Child, Woman, Elder)


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    """The full demo, loaded once for the module; what load_demo printed."""
    out = StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def demo(db, demo_output):
    return demo_output


def _rows():
    return [
        sorted(model.objects.values_list("id", "id_number", "name", "village_code", "version", "updated_at"))
        for model in MODELS
    ]


def _checksum(rows):
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _line(output, start):
    return next(line for line in output.splitlines() if line.startswith(start))


def test_demo_registry_totals_match_the_campaign(demo):
    high_risk = Child.objects.high_risk().count()
    assert Child.objects.count() == DEMO_CHILDREN == 15362
    assert Woman.objects.count() == DEMO_WOMEN == 3712
    assert Elder.objects.count() == DEMO_ELDERS
    assert 2000 <= DEMO_ELDERS <= 3000
    assert IdentityClaim.objects.count() == 15362 + 3712 + DEMO_ELDERS
    assert Counter(IdentityClaim.objects.values_list("category", flat=True)) == {
        "child": 15362,
        "woman": 3712,
        "elder": DEMO_ELDERS,
    }
    assert _line(demo, "演示名册") == (
        f"演示名册：留守儿童 15362 名（其中高风险 {high_risk} 名），留守妇女 3712 名，"
        f"留守老人 {DEMO_ELDERS} 名；年龄按 {reference_date():%Y-%m-%d} 计算。"
    )


def test_demo_records_lie_in_demo_villages_of_every_county(demo):
    for model in MODELS:
        rows = list(model.objects.values_list("village_code", "village__code", "village__level"))
        assert {code == village_code for code, village_code, _level in rows} == {True}
        assert {level for _code, _village_code, level in rows} == {RegionLevel.VILLAGE}
        assert sorted({code[:6] for code, _village_code, _level in rows}) == PUYANG_COUNTIES


def test_demo_id_numbers_are_valid_unique_and_match_the_record(demo):
    numbers = []
    for model in MODELS:
        for number, village_code, birth_date, sex in model.objects.values_list(
            "id_number", "village_code", "birth_date", "sex"
        ):
            check = rules.check_id_number(number)
            assert (check.ok, check.warnings, check.birth_date, check.sex) == (True, (), birth_date, sex)
            assert number[:6] == village_code[:6]
            numbers.append(number)
    assert len(set(numbers)) == len(numbers) == 15362 + 3712 + DEMO_ELDERS
    claims = set(IdentityClaim.objects.values_list("id_number", "category", "village__code"))
    records = {
        (number, model.category.value, village_code)
        for model in MODELS
        for number, village_code in model.objects.values_list("id_number", "village_code")
    }
    assert claims == records


def test_demo_children_are_left_behind_with_stored_type_and_flags(demo):
    today = reference_date()
    kinds = Counter()
    for child in Child.objects.all():
        verdict = rules.classify_child(
            birth_date=child.birth_date,
            father_status=child.father_status,
            mother_status=child.mother_status,
            reference_date=today,
        )
        assert (verdict.is_left_behind, verdict.reasons) == (True, ())
        assert child.left_behind_type == verdict.kind
        flags = rules.child_red_flags(
            guardianship_type=child.guardianship_type,
            guardian_assessment=child.guardian_assessment,
            health=child.health,
            schooling=child.schooling,
            father_status=child.father_status,
            mother_status=child.mother_status,
        )
        assert (child.risk_flags, child.is_high_risk) == (list(flags), bool(flags))
        # Still a child for BIRTHDAY_MARGIN: the demo stays valid that long after loading.
        assert rules.age_on(child.birth_date, today + BIRTHDAY_MARGIN) <= 15
        kinds[child.left_behind_type] += 1
    assert 0.57 <= kinds[LeftBehindType.BOTH] / 15362 <= 0.63


def test_demo_children_schooling_fits_their_age(demo):
    today = reference_date()
    allowed = {
        **dict.fromkeys(range(3), {Schooling.NOT_ENROLLED}),
        **dict.fromkeys(range(3, 6), {Schooling.NOT_ENROLLED, Schooling.KINDERGARTEN}),
        **dict.fromkeys(range(6, 12), {Schooling.PRIMARY}),
        **dict.fromkeys(range(12, 15), {Schooling.JUNIOR, Schooling.DROPPED_OUT}),
        15: {Schooling.SENIOR, Schooling.VOCATIONAL, Schooling.DROPPED_OUT},
    }
    seen, teenagers = {}, Counter()
    for birth_date, schooling in Child.objects.values_list("birth_date", "schooling"):
        age = rules.age_on(birth_date, today)
        seen.setdefault(age, set()).add(schooling)
        if age >= 12:
            teenagers[schooling == Schooling.DROPPED_OUT] += 1
    assert sorted(seen) == list(range(16))
    assert {age: schoolings - allowed[age] for age, schoolings in seen.items()} == dict.fromkeys(
        range(16), set()
    )
    assert 0.002 <= teenagers[True] / teenagers.total() <= 0.01


def test_demo_children_mix_is_realistic(demo):
    guardianship = Counter(Child.objects.values_list("guardianship_type", flat=True))
    assert 0.72 <= guardianship[GuardianshipType.GRANDPARENT] / 15362 <= 0.78
    assert 0.002 <= guardianship[GuardianshipType.NONE] / 15362 <= 0.008
    assert set(guardianship) == set(GuardianshipType.values)
    no_phone = (
        Child.objects.exclude(guardianship_type=GuardianshipType.NONE).filter(guardian_phone="").count()
    )
    assert 0.02 <= no_phone / 15362 <= 0.04
    phone_fields = {
        Child: ("guardian_phone", "father_phone", "mother_phone", "contact_phone"),
        Woman: ("phone", "husband_phone"),
        Elder: ("phone", "caregiver_phone"),
    }
    for model, fields in phone_fields.items():
        for field in fields:
            phones = set(model.objects.exclude(**{field: ""}).values_list(field, flat=True))
            assert {rules.check_phone(phone) for phone in phones} == {(phone, None) for phone in phones}


def test_demo_women_and_elders_are_left_behind(demo):
    today = reference_date()
    for woman in Woman.objects.all():
        verdict = rules.classify_woman(
            birth_date=woman.birth_date, husband_months_away=woman.husband_months_away, reference_date=today
        )
        assert (verdict.is_left_behind, verdict.reasons) == (True, ())
        assert rules.age_on(woman.birth_date, today + BIRTHDAY_MARGIN) <= 59
    for elder in Elder.objects.all():
        verdict = rules.classify_elder(
            birth_date=elder.birth_date,
            children_count=elder.children_count,
            children_away_count=elder.children_away_count,
            min_months_away_of_children=elder.min_months_away,
            reference_date=today,
        )
        assert (verdict.is_left_behind, verdict.reasons) == (True, ())


def test_demo_records_each_have_one_history_entry_from_the_command(demo):
    for model in MODELS:
        ids = sorted(model.objects.values_list("id", flat=True))
        entries = list(
            model.history.values_list("id", "history_type", "history_change_reason", "history_user")
        )
        assert sorted(entry[0] for entry in entries) == ids
        assert {entry[1:] for entry in entries} == {("+", HistorySource.COMMAND.value, None)}


def test_demo_home_villages_have_children_and_risk(demo):
    for username in ("cadre1", "cadre2"):
        village = User.objects.get(username=username).region
        assert Child.objects.in_region(village).count() >= HOME_VILLAGE_MIN_CHILDREN
        assert Child.objects.in_region(village).high_risk().exists() is True
    township = User.objects.get(username="township").region
    assert Child.objects.in_region(township).filter(guardianship_type=GuardianshipType.NONE).exists() is True
    for code in PUYANG_COUNTIES:
        county = Region.objects.get(code=code.ljust(12, "0"))
        assert Child.objects.in_region(county).high_risk().exists() is True


def test_demo_registry_generation_is_deterministic(demo):
    city = Region.objects.get(code="410900000000")
    homes = [User.objects.get(username=name).region for name in ("cadre1", "cadre2")]
    children, women, elders = demo_registry_generate(city=city, home_villages=homes, on=reference_date())
    for model, generated in zip(MODELS, (children, women, elders), strict=True):
        stored = list(
            model.objects.order_by("id").values_list("id_number", "name", "village_code", "birth_date")
        )
        assert [(r.id_number, r.name, r.village.code, r.birth_date) for r in generated] == stored


def test_demo_registry_reload_changes_nothing(demo):
    before = _rows()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert _checksum(_rows()) == _checksum(before)
    assert [len(rows) for rows in before] == [15362, 3712, DEMO_ELDERS]
    assert IdentityClaim.objects.count() == 15362 + 3712 + DEMO_ELDERS
    total = 15362 + 3712 + DEMO_ELDERS
    assert _line(out.getvalue(), "演示名册") == f"演示名册：濮阳市已有 {total} 条登记，未重复载入。"


def _snapshot():
    return (
        sorted(Region.objects.values_list("code", "name", "level", "parent__code")),
        sorted(Organisation.objects.values_list("name", "kind", "region__code", "is_leading_office")),
        sorted(User.objects.values_list("username", "role", "region__code", "organisation__name")),
        sorted(VillageReturn.objects.values_list("village_code", "state", "is_zero_return")),
    )


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
    for username in (
        *("cadre1", "cadre2", "township", "county", "city", "supervisor", "liaison", "police", "hotline"),
        *("admin", "secadmin", "auditor"),
    ):
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
        ("police", Role.LIAISON, "410900000000"),
        ("hotline", Role.HOTLINE_OPERATOR, "410900000000"),
        ("admin", Role.SYSADMIN, None),
        ("secadmin", Role.SECURITY_ADMIN, None),
        ("auditor", Role.AUDIT_ADMIN, None),
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
    if otp_required(user):  # the demo city and admin accounts meet the enrolment page first
        assert client.get(reverse("home"))["Location"] == f"{reverse('otp_enrol')}?next=%2F"
        enrol_second_factor(client)
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
    # Accounts, organisations, regions, and the care levels' names and intervals: no personal record.
    assert models == {"user", "organisation", "region", "risklevel", "casedeadline"}


def test_demo_admin_reaches_the_admin_pages(client, demo):
    client.force_login(User.objects.get(username="admin"))
    for url in ("admin:index", "admin:accounts_user_changelist", "admin:registry_region_changelist"):
        assert client.get(reverse(url)).status_code == 200


def test_demo_campaign_returns_cover_every_state(demo):
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.reference_date) == ("active", date(2022, 7, 31))
    assert reference_date() == date(2022, 7, 31)
    returns = VillageReturn.objects.filter(campaign=campaign)
    assert returns.count() == Region.objects.at_level(RegionLevel.VILLAGE).count()
    states = Counter(returns.values_list("state", flat=True))
    approved = states[ReturnState.TOWNSHIP_APPROVED] + states[ReturnState.COUNTY_APPROVED]
    assert approved > returns.count() / 2
    assert min(states[s] for s in ReturnState.values) > 0
    assert returns.filter(state=ReturnState.IN_PROGRESS).exclude(last_reason="").exists()  # sent back
    assert returns.overdue().count() == states[ReturnState.NOT_STARTED] + states[ReturnState.IN_PROGRESS]
    assert returns.filter(is_zero_return=True).exists()


def test_demo_snapshots_match_the_registry(demo):
    submitted = VillageReturn.objects.exclude(snapshot={}).select_related("campaign", "village")
    for ret in submitted.order_by("village_code")[:200]:
        assert survey_services.snapshot_differences(ret) == {}
        assert ret.is_zero_return == (sum(ret.snapshot.values()) == 0)


def test_demo_every_transition_has_its_event(demo):
    for ret in VillageReturn.objects.exclude(state=ReturnState.NOT_STARTED).prefetch_related("events")[:300]:
        events = list(ret.events.all())
        assert events[0].from_state == ReturnState.NOT_STARTED
        assert events[-1].to_state == ret.state
        for before, after in zip(events, events[1:], strict=False):
            assert before.to_state == after.from_state


def test_demo_inspection_has_spot_checks_and_open_rectifications(demo):
    inspection = Inspection.objects.get()
    assert inspection.county.name == "南乐县"
    assert inspection.checks.count() == 30
    assert set(inspection.checks.values_list("village_code", flat=True)) <= set(
        Child.objects.in_region(inspection.county).values_list("village_code", flat=True)
    )
    statuses = Counter(inspection.items.values_list("status", flat=True))
    assert statuses == {RectificationStatus.OPEN: 2, RectificationStatus.DONE: 1}
    assert Rectification.objects.overdue().count() == 1


# --- the care history (issue 15 §8) ---------------------------------------------------------------


def test_demo_every_child_has_its_care_row_and_a_visit_history(demo):
    active = Child.objects.filter(status="active")
    assert ChildCare.objects.count() == active.count() == 15362
    assert ChildCare.objects.filter(last_visit_on__isnull=True).count() == 0
    assert Visit.objects.count() == int(_line(demo, "关爱服务").split("走访记录 ")[1].split(" 条")[0])
    high_risk = set(active.high_risk().values_list("pk", flat=True))
    ranks = dict(ChildCare.objects.values_list("child_id", "computed_rank"))
    assert {pk for pk, rank in ranks.items() if rank <= 2} >= high_risk


def test_demo_boards_show_due_overdue_and_every_level(demo):
    city = Region.objects.get(code="410900000000")
    counts = region_counts(city, clock.today())
    assert all(counts.by_rank[rank] > 0 for rank in (1, 2, 3, 4))
    assert 0.08 < counts.overdue / counts.children < 0.2
    assert 0.08 < counts.due / counts.children < 0.25


def test_demo_cadre1s_village_has_visits_due_this_week_and_an_override(demo):
    village = User.objects.get(username="cadre1").region
    due = in_state(ChildCare.objects.in_region(village), clock.today(), clock.DUE)
    assert due.count() >= 3
    override = LevelOverride.objects.get()
    assert (override.child.village_code, override.rank, override.set_by.username) == (
        village.code,
        2,
        "township",
    )
    assert ChildCare.objects.get(child=override.child).rank_on(clock.today()) == 2


def test_demo_reload_writes_no_second_care_history(demo):
    before = (Visit.objects.count(), LevelOverride.objects.count())
    call_command("load_demo", stdout=StringIO())
    assert (Visit.objects.count(), LevelOverride.objects.count()) == before


def test_demo_cases_in_every_state_some_late_and_referrals_to_several_units(demo):
    states = set(Case.objects.values_list("state", flat=True))
    assert states == set(CaseState.values)
    city = Region.objects.get(code="410900000000")
    counts = region_counts(city, clock.today())
    assert counts.cases_open >= 30
    assert 0 < counts.cases_overdue < counts.cases_open
    assert Case.objects.filter(escalation=2).exists() and Case.objects.filter(escalation=1).exists()
    assert Case.objects.filter(sensitive=True).count() >= 2
    assert Referral.objects.values("unit").distinct().count() >= 4
    assert set(Referral.objects.values_list("state", flat=True)) >= {"sent", "accepted", "done"}
    county = User.objects.get(username="county").region
    assert region_counts(county, clock.today()).cases_open >= 20
    assert all(event.at <= timezone.now() for event in CaseEvent.objects.all())
    cadre1 = User.objects.get(username="cadre1")
    abuse = Case.objects.get(village=cadre1.region, sensitive=True)
    readers = [name for name in ("cadre1", "township", "county", "city", "police", "liaison")
               if policy.can_read_case(User.objects.get(username=name), abuse)]  # fmt: skip
    assert readers == ["county", "city", "police"]


def test_demo_reload_files_no_second_report(demo):
    before = (Case.objects.count(), Referral.objects.count(), CaseEvent.objects.count())
    call_command("load_demo", stdout=StringIO())
    assert (Case.objects.count(), Referral.objects.count(), CaseEvent.objects.count()) == before


def test_demo_names_who_visits_with_gaps_keeps_diaries_and_took_calls(demo):
    city = Region.objects.get(code="410900000000")
    villages, townships = care_worker_gaps(city)
    total = Region.objects.at_level(RegionLevel.VILLAGE).count()
    assert (0.05 < villages.count() / total < 0.15, townships.count()) == (True, 0)
    cadre1 = User.objects.get(username="cadre1")
    director = CareWorker.objects.current().get(region=cadre1.region)
    assert (director.name, director.user) == ("张村官", cadre1)
    assert SupervisionDiary.objects.count() == 3
    assert (
        sorted(HotlineCall.objects.values_list("outcome", flat=True)) == ["consultation"] * 3 + ["report"] * 2
    )
    assert HotlineCall.objects.filter(outcome="report", case__reporter_kind="hotline").count() == 2
