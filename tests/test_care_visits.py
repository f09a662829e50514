"""Care loop (issue 15 §2): home visits on the clock of each level — due on the day the interval has
run, overdue from the day after; refused when future-dated, on an exited child or out of scope;
never deleted, a correction keeps the old record."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from care import counting
from care.boards import counts_by_child_region, in_state, region_counts
from care.models import ChildCare, RiskLevel, Visit
from care.services import level_override_set, levels, village_counts_rebuild, visit_correct, visit_record
from registry import records
from registry.choices import ExitReason, GuardianAssessment, HealthStatus, Schooling
from tests.factories import make_child
from workflow import clock

# A child whose record calls for each level, with no visit concern needed.
LEVEL_FACTS = {
    1: {"guardian_assessment": GuardianAssessment.NONE},
    2: {"schooling": Schooling.DROPPED_OUT},
    3: {"health": HealthStatus.ILL},
    4: {},
}
INTERVAL = {1: 7, 2: 15, 3: 30, 4: 90}


def visit(child, user, on, today=None, **findings):
    data = {"visited_on": on, "way": "home", "met": "祖母", **findings}
    return visit_record(child=child, user=user, data=data, today=today or clock.today())


def counts(village, on):
    got = region_counts(village, on)
    return {"due": got.due, "overdue": got.overdue}


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_a_visit_falls_due_on_its_interval_and_is_overdue_the_day_after(tree, cast, rank):
    village = tree["410922100201"]
    child = make_child(village, **LEVEL_FACTS[rank])
    today = clock.today()
    visited = today - timedelta(days=INTERVAL[rank])
    visit(child, cast["cadre_a"], visited)
    assert ChildCare.objects.get(child=child).computed_rank == rank
    assert clock.visit_state(clock.visit_due_on(visited, INTERVAL[rank]), today) == clock.DUE
    assert counts(village, today) == {"due": 1, "overdue": 0}
    assert counts(village, today + timedelta(days=1)) == {"due": 0, "overdue": 1}
    assert counts(village, today - timedelta(days=6)) == {"due": 1, "overdue": 0}
    assert counts(village, today - timedelta(days=7)) == {"due": 0, "overdue": 0}


def test_a_child_never_visited_is_due_one_interval_after_registration(tree):
    village = tree["410922100201"]
    make_child(village, schooling=Schooling.DROPPED_OUT)
    today = clock.today()
    assert counts(village, today + timedelta(days=15)) == {"due": 1, "overdue": 0}
    assert counts(village, today + timedelta(days=16)) == {"due": 0, "overdue": 1}


def test_a_visit_moves_the_clock_and_takes_the_child_off_the_due_list(tree, cast):
    village = tree["410922100201"]
    child = make_child(village, schooling=Schooling.DROPPED_OUT)
    later = clock.today() + timedelta(days=20)
    assert list(
        in_state(ChildCare.objects.in_region(village), later, clock.OVERDUE).values_list("child", flat=True)
    ) == [child.pk]
    visit(child, cast["cadre_a"], later, today=later)
    assert counts(village, later) == {"due": 0, "overdue": 0}
    care = ChildCare.objects.get(child=child)
    assert (care.counted_from, care.last_visit_on, care.visit_count) == (later, later, 1)


def test_what_the_last_visit_found_raises_the_level(tree, cast):
    child = make_child(tree["410922100201"])
    visit(
        child,
        cast["cadre_a"],
        clock.today(),
        safety_concern=True,
        safety_note="住房漏雨",
        guardianship_concern=True,
    )
    care = ChildCare.objects.get(child=child)
    assert (care.computed_rank, care.reasons) == (1, [[1, "最近一次走访发现监护、安全问题"]])
    visit(child, cast["cadre_a"], clock.today(), way="phone")
    assert ChildCare.objects.get(child=child).computed_rank == 4


def test_the_same_visit_sent_twice_is_recorded_once(tree, cast):
    child = make_child(tree["410922100201"])
    visit(child, cast["cadre_a"], clock.today())
    with pytest.raises(ValidationError) as refused:
        visit(child, cast["cadre_a"], clock.today())
    assert refused.value.messages == [
        "这次走访已经记录过了（同一天、同一方式）。如需修改，请在儿童关爱页面更正那条记录。"
    ]
    assert Visit.objects.count() == 1


def test_the_township_reviewer_may_visit_too_and_the_event_names_no_child(tree, cast):
    child = make_child(tree["410922100202"])
    recorded = visit(child, cast["township"], clock.today())
    event = AuditEvent.objects.get(object_type="care.visit")
    assert (event.user, event.action, event.object_id, event.object_label, event.detail) == (
        cast["township"],
        "create",
        recorded.pk,
        "走访记录",
        f"儿童记录 {child.pk}",
    )
    assert child.name not in event.detail + event.object_label


@pytest.mark.parametrize(
    ("who", "days", "message"),
    [
        ("cadre_a", 1, f"走访日期不能晚于今天（{clock.today():%Y-%m-%d}）。"),
        ("cadre_a", None, "请填写走访日期。"),
        ("cadre_b", 0, "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"),
        ("cadre_c", 0, "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"),
        ("county", 0, "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"),
        ("liaison", 0, "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"),
        ("sysadmin", 0, "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"),
    ],
)
def test_a_visit_is_refused_with_a_reason_and_nothing_written(tree, cast, who, days, message):
    child = make_child(tree["410922100201"])
    on = None if days is None else clock.today() + timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        visit(child, cast[who], on)
    assert refused.value.messages == [message]
    assert (Visit.objects.count(), ChildCare.objects.get(child=child).visit_count) == (0, 0)


def test_a_visit_to_an_exited_child_is_refused(tree, cast):
    child = make_child(tree["410922100201"])
    child = records.record_exit(
        record=child,
        user=cast["cadre_a"],
        reason=ExitReason.MOVED_OUT,
        date=clock.today(),
        note="",
        version=1,
    )
    with pytest.raises(ValidationError) as refused:
        visit(child, cast["cadre_a"], clock.today())
    assert refused.value.messages == ["该儿童已退出台账，不能再记录走访。"]
    assert Visit.objects.count() == 0


def test_a_correction_replaces_the_visit_and_keeps_it(tree, cast):
    child = make_child(tree["410922100201"])
    today = clock.today()
    first = visit(child, cast["cadre_a"], today, study_concern=True)
    corrected = visit_correct(
        visit=first,
        user=cast["cadre_a"],
        data={"visited_on": today - timedelta(days=2), "way": "phone", "met": "儿童本人"},
        reason="日期记错",
    )
    assert list(Visit.objects.order_by("pk").values_list("pk", "corrects", "correction_reason")) == [
        (first.pk, None, ""),
        (corrected.pk, first.pk, "日期记错"),
    ]
    assert list(Visit.objects.current().values_list("pk", flat=True)) == [corrected.pk]
    care = ChildCare.objects.get(child=child)
    assert (care.last_visit_on, care.visit_count, care.computed_rank) == (today - timedelta(days=2), 1, 4)
    with pytest.raises(ValidationError) as refused:
        visit_correct(
            visit=first, user=cast["cadre_a"], data={"visited_on": today, "met": "祖母"}, reason="再改"
        )
    assert refused.value.messages == ["这条走访记录已被更正过，请在更正后的记录上修改。"]


def test_a_correction_needs_a_reason(tree, cast):
    child = make_child(tree["410922100201"])
    first = visit(child, cast["cadre_a"], clock.today())
    with pytest.raises(ValidationError) as refused:
        visit_correct(
            visit=first, user=cast["cadre_a"], data={"visited_on": clock.today(), "met": "祖母"}, reason=" "
        )
    assert refused.value.messages == ["请填写更正原因。"]
    assert Visit.objects.count() == 1


def test_counts_by_region_fold_villages_into_townships(tree, cast):
    county = tree["410922"]
    townships = list(county.children.order_by("code"))
    make_child(tree["410922100201"], schooling=Schooling.DROPPED_OUT)
    make_child(tree["410922100202"], guardian_assessment=GuardianAssessment.NONE)
    make_child(tree["410922100202"])
    later = clock.today() + timedelta(days=16)
    rows = counts_by_child_region(county, townships, later)
    whole = rows[0]
    assert (whole.children, whole.by_rank, whole.due, whole.overdue, whole.on_schedule) == (
        3,
        {1: 1, 2: 1, 3: 0, 4: 1},
        0,
        2,
        33.3,
    )
    assert [(row.region.code, row.children, row.overdue) for row in rows[1:]] == [
        (
            township.code,
            3 if township.code == "410922100000" else 0,
            2 if township.code == "410922100000" else 0,
        )
        for township in townships
    ]


# --- today's stored per-village counts (care/counting.py) ----------------------------------------


def _live(region, on):
    return sorted(
        (row["village_code"], *(row[f] for f in counting.FIGURES))
        for row in counting.per_village(ChildCare.objects.in_register().in_region(region), on, levels())
        if row["children"]
    )


def _stored(region, on):
    rows = counting.stored_counts(region, on, levels())
    return (
        None
        if rows is None
        else sorted((r["village_code"], *(r[f] for f in counting.FIGURES)) for r in rows if r["children"])
    )


def test_todays_stored_counts_follow_every_care_write(tree, cast):
    county, today = tree["410922"], clock.today()
    child = make_child(tree["410922100201"], schooling=Schooling.DROPPED_OUT)
    make_child(tree["410922100202"], guardian_assessment=GuardianAssessment.NONE)
    assert _stored(county, today) == _live(county, today) != []
    visit(child, cast["cadre_a"], today - timedelta(days=20))
    assert _stored(county, today) == _live(county, today)
    level_override_set(
        child=child, user=cast["township"], rank=1, reason="复核", until=today + timedelta(days=5)
    )
    assert _stored(county, today) == _live(county, today)
    records.record_exit(
        record=child, user=cast["cadre_a"], reason=ExitReason.MOVED_OUT, date=today, note="", version=1
    )
    assert _stored(county, today) == _live(county, today)
    assert [row[0] for row in _stored(county, today)] == ["410922100202"]


def test_stored_counts_stand_only_for_today_and_the_levels_they_were_counted_with(tree, cast):
    county, today = tree["410922"], clock.today()
    make_child(tree["410922100201"], schooling=Schooling.DROPPED_OUT)
    assert _stored(county, today) is not None
    assert _stored(county, today + timedelta(days=1)) is None
    RiskLevel.objects.filter(rank=2).update(visit_interval_days=10)
    assert _stored(county, today) is None
    assert village_counts_rebuild() == 1
    assert _stored(county, today) == _live(county, today)
    assert region_counts(county, today).by_rank == {1: 0, 2: 1, 3: 0, 4: 0}
