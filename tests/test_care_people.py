"""Care loop (issue 15 §5–6): who visits — named child directors and supervisors, the gaps, the
monthly 督导日志 — and the hotline: a call logged, matched to a child, turned into a report or a
consultation."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from care import hotline, workers
from care.models import CareWorker, Case, HotlineCall, SupervisionDiary
from tests.factories import UserFactory, make_child
from workflow import clock

A, B, C = "410922100201", "410922100202", "410923100201"


@pytest.fixture
def operator(tree):
    return UserFactory(username="hotline", role=Role.HOTLINE_OPERATOR, region=tree["4109"])


# --- child directors and supervisors ------------------------------------------------------------


def test_a_new_director_ends_the_previous_term_and_the_gap_closes(cast, tree):
    today = clock.today()
    township = tree["410922100"]
    before, _ = workers.care_worker_gaps(township)
    assert [v.code for v in before] == [A, B]
    first = workers.care_worker_appoint(
        user=cast["township"], region=tree[A], kind="director", name="张主任", phone="13900001111",
        since=today - timedelta(days=30),
    )  # fmt: skip
    second = workers.care_worker_appoint(
        user=cast["township"], region=tree[A], kind="director", name="李主任"
    )
    first.refresh_from_db()
    assert (first.until, second.until, second.since) == (today - timedelta(days=1), None, today)
    villages, townships = workers.care_worker_gaps(tree["410922"])
    assert ([v.code for v in villages], [t.code for t in townships]) == (
        [B, "410922101201", "410922101202"],
        ["410922100000", "410922101000"],
    )


@pytest.mark.parametrize(
    ("who", "region", "kind", "changes", "message"),
    [
        ("cadre_a", A, "director", {}, "您不能为该区划指定儿童主任或儿童督导员。"),
        ("township", C, "director", {}, "您不能为该区划指定儿童主任或儿童督导员。"),
        ("township", "410922100", "supervisor", {}, "您不能为该区划指定儿童主任或儿童督导员。"),
        ("township", A, "supervisor", {}, "儿童督导员应设在乡镇（街道）。"),
        ("township", A, "director", {"name": " "}, "请填写姓名。"),
        (
            "township",
            A,
            "director",
            {"phone": "12345"},
            "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）",
        ),
        ("township", A, "director", {"since": 1}, "任职日期不能晚于今天。"),
    ],
)
def test_an_appointment_is_refused_with_a_reason(cast, tree, who, region, kind, changes, message):
    since = clock.today() + timedelta(days=changes.pop("since", 0))
    with pytest.raises(ValidationError) as refused:
        workers.care_worker_appoint(
            user=cast[who], region=tree[region], kind=kind, **{"name": "王某", **changes}, since=since
        )
    assert refused.value.messages == [message]
    assert CareWorker.objects.count() == 0


def test_the_county_names_the_township_supervisor(cast, tree):
    worker = workers.care_worker_appoint(
        user=cast["county"], region=tree["410922100"], kind="supervisor", name="赵督导"
    )
    assert (worker.region_code, worker.kind, worker.assigned_by) == (
        "410922100000",
        "supervisor",
        cast["county"],
    )


def test_a_monthly_diary_per_township_rewritten_not_doubled(cast, tree):
    township = tree["410922100"]
    today = clock.today()
    workers.diary_record(
        user=cast["township"], township=township, month=today, villages=[tree[A]], note="走访两村"
    )
    diary = workers.diary_record(
        user=cast["township"],
        township=township,
        month=today.replace(day=1),
        villages=[tree[A], tree[B]],
        note="补记",
    )
    assert SupervisionDiary.objects.count() == 1
    assert (diary.month, diary.note, sorted(v.code for v in diary.villages.all())) == (
        today.replace(day=1),
        "补记",
        [A, B],
    )


@pytest.mark.parametrize(
    ("who", "villages", "month", "note", "message"),
    [
        ("cadre_a", [A], 0, "x", "只有本乡镇的儿童督导员（乡镇审核员）可以写督导日志。"),
        ("county", [A], 0, "x", "只有本乡镇的儿童督导员（乡镇审核员）可以写督导日志。"),
        ("township", [], 0, "x", "请选择本月督导过的村（社区）。"),
        ("township", [C], 0, "x", "只能选择本乡镇的村（社区）。"),
        ("township", [A], 0, " ", "请写明督导情况。"),
        ("township", [A], 40, "x", "不能为以后的月份写督导日志。"),
    ],
)
def test_a_bad_diary_is_refused(cast, tree, who, villages, month, note, message):
    with pytest.raises(ValidationError) as refused:
        workers.diary_record(
            user=cast[who],
            township=tree["410922100"],
            month=clock.today() + timedelta(days=month),
            villages=[tree[code] for code in villages],
            note=note,
        )
    assert refused.value.messages == [message]
    assert SupervisionDiary.objects.count() == 0


# --- the hotline ---------------------------------------------------------------------------------


def test_a_call_about_a_registered_child_becomes_a_hotline_report(operator, tree):
    child = make_child(tree[A], name="王小明")
    assert hotline.hotline_match(user=operator, id_number=f" {child.id_number.lower()} ") == [child]
    assert hotline.hotline_match(user=operator, name="王小明", village=tree[A]) == [child]
    assert hotline.hotline_match(user=operator, name="王小明", village=tree[B]) == []
    call = hotline.hotline_call_log(
        user=operator, received_at=timezone.now(), caller_kind="neighbour", callback_number="13900002222",
        region=tree[A], summary="邻居反映孩子独自在家三天", outcome="report", child=child,
        kind="unsupervised", urgency="urgent",
    )  # fmt: skip
    case = Case.objects.get()
    assert (call.case, case.reporter_kind, case.reported_by, case.child, case.urgency) == (
        case, "hotline", operator, child, "urgent",
    )  # fmt: skip


def test_a_consultation_needs_its_answer_and_opens_no_case(operator, tree):
    with pytest.raises(ValidationError) as refused:
        hotline.hotline_call_log(
            user=operator, received_at=timezone.now(), caller_kind="parent", region=tree["410922"],
            summary="咨询孩子转学手续", outcome="consultation",
        )  # fmt: skip
    assert refused.value.messages == ["咨询来电请写明解答内容。"]
    call = hotline.hotline_call_log(
        user=operator, received_at=timezone.now(), caller_kind="parent", region=tree["410922"],
        summary="咨询孩子转学手续", outcome="consultation", answer="请联系县教育局学籍科",
    )  # fmt: skip
    assert (call.case, Case.objects.count(), HotlineCall.objects.count()) == (None, 0, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"who": "county"}, "只有热线接线员可以登记来电。"),
        ({"received_at": 1}, "来电时间不能晚于现在。"),
        ({"summary": ""}, "请写明来电内容。"),
        (
            {"callback_number": "110"},
            "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）",
        ),
        ({"region": "410922"}, "转为强制报告时，请选择儿童所在的村（社区）。"),
        ({"provisional_name": ""}, "请选择已登记的儿童，或填写尚未登记儿童的姓名。"),
    ],
)
def test_a_bad_call_is_refused_and_nothing_written(cast, operator, tree, changes, message):
    data = {
        "user": cast[changes.pop("who")] if "who" in changes else operator,
        "received_at": timezone.now() + timedelta(minutes=changes.pop("received_at", 0)),
        "caller_kind": "child",
        "region": tree[changes.pop("region", A)],
        "summary": "孩子说被打了",
        "outcome": "report",
        "kind": "domestic_violence",
        "provisional_name": "小红",
        **changes,
    }
    with pytest.raises(ValidationError) as refused:
        hotline.hotline_call_log(**data)
    assert refused.value.messages == [message]
    assert (HotlineCall.objects.count(), Case.objects.count()) == (0, 0)


def test_only_an_operator_matches_children(cast, tree):
    with pytest.raises(ValidationError):
        hotline.hotline_match(user=cast["county"], name="王小明", village=tree[A])
