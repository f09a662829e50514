"""care_status and care_escalate (issue 15 §9): one JSON object of exactly the board's counts for a
region on a day, and an escalation that is idempotent."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Organisation, OrganisationKind
from care import cases
from care.boards import region_counts
from care.models import Case, Referral
from registry.choices import GuardianAssessment, HealthStatus, Schooling
from tests.factories import make_child
from workflow import clock

A, B = "410922100201", "410922100202"


def status(*args):
    out = StringIO()
    call_command("care_status", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def world(cast, tree):
    make_child(tree[A], guardian_assessment=GuardianAssessment.FAIR)
    make_child(tree[A], schooling=Schooling.DROPPED_OUT)
    make_child(tree[B], health=HealthStatus.ILL)
    child = make_child(tree[B])
    case = cases.case_open(
        user=cast["cadre_b"], village=tree[B], child=child, kind="dropout", description="辍学"
    )
    return case


def test_care_status_prints_the_boards_counts_for_a_region_and_day(world, tree):
    later = clock.today() + timedelta(days=16)
    assert status("--region", "410922") == {
        "children": 4,
        "by_level": {"一级": 0, "二级": 2, "三级": 2, "四级": 0},
        "visits_due": 0,
        "visits_overdue": 0,
        "cases_open": 1,
        "cases_overdue": 0,
        "referrals_open": 0,
        "referrals_overdue": 0,
    }
    got = status("--region", "410922100000", "--on", later.isoformat())
    board = region_counts(tree["410922100"], later)
    assert (got["visits_overdue"], got["cases_overdue"]) == (board.overdue, board.cases_overdue) == (2, 1)
    assert status("--region", A)["children"] == 2


def test_care_status_counts_referrals_past_their_day(world, cast, tree):
    unit = Organisation.objects.create(
        name="市教育局", code="education", kind=OrganisationKind.MEMBER_UNIT, region=tree["4109"]
    )
    cases.referral_create(
        user=cast["cadre_b"], child=world.child, case=world, unit=unit, need="劝返", due_on=clock.today()
    )
    assert [
        status("--region", B, "--on", day.isoformat())["referrals_overdue"]
        for day in (clock.today(), clock.today() + timedelta(days=1))
    ] == [0, 1]
    assert Referral.objects.count() == 1


def test_care_status_refuses_an_unknown_region_or_date(tree):
    with pytest.raises(CommandError, match="没有区划代码为 999999 的区划。"):
        call_command("care_status", "--region", "999999", stdout=StringIO())
    with pytest.raises(CommandError, match="日期 '2026-13-01' 无法识别：请写成 YYYY-MM-DD。"):
        call_command("care_status", "--region", "410922", "--on", "2026-13-01", stdout=StringIO())


def test_care_escalate_marks_late_cases_once(world):
    Case.objects.filter(pk=world.pk).update(deadline_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("care_escalate", stdout=out)
    call_command("care_escalate", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split("（")[0] for line in lines] == [
        "新标记逾期督办的个案：1 件",
        "新标记逾期督办的个案：0 件",
    ]
    assert Case.objects.get(pk=world.pk).escalation == 1
