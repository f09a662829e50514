"""Care loop (issue 15 §1): a child's risk level from the rules, with its reasons; kept in step with
the registry's writes; a township reviewer's override until its review date, kept in history."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from care import rules
from care.boards import region_counts
from care.models import ChildCare, LevelOverride, RiskLevel
from care.services import level_override_set, levels
from registry import records
from registry.choices import (
    ExitReason,
    GuardianAssessment,
    GuardianshipType,
    HealthStatus,
    ParentStatus,
    Schooling,
)
from tests.factories import make_child, make_id_number
from workflow import clock

STABLE = {"risk_flags": (), "guardian_assessment": GuardianAssessment.GOOD, "health": HealthStatus.HEALTHY}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, (4, ((4, "未见风险因素"),))),
        ({"risk_flags": ("无人监护",), "guardian_assessment": "none"}, (1, ((1, "无人监护"),))),
        ({"risk_flags": ("父母均失联",)}, (1, ((1, "父母均失联"),))),
        (
            {"risk_flags": ("监护人无监护能力",), "guardian_assessment": "parent_incapable"},
            (2, ((2, "监护人无监护能力"),)),
        ),
        ({"risk_flags": ("重病/残疾",), "health": "disabled"}, (2, ((2, "重病/残疾"),))),
        ({"risk_flags": ("辍学",)}, (2, ((2, "辍学"),))),
        ({"guardian_assessment": "fair"}, (3, ((3, "监护情况一般"),))),
        ({"guardian_assessment": "pending"}, (3, ((3, "监护情况尚未评估"),))),
        ({"health": "ill"}, (3, ((3, "患病"),))),
        ({"last_visit_concerns": ("心理",)}, (3, ((3, "最近一次走访发现心理问题"),))),
        ({"last_visit_concerns": ("安全",)}, (2, ((2, "最近一次走访发现安全问题"),))),
        ({"last_visit_concerns": ("健康", "学业")}, (2, ((2, "最近一次走访发现健康、学业问题"),))),
        ({"last_visit_concerns": ("监护", "安全")}, (1, ((1, "最近一次走访发现监护、安全问题"),))),
        (
            {"risk_flags": ("辍学",), "guardian_assessment": "fair", "last_visit_concerns": ("监护", "安全")},
            (1, ((1, "最近一次走访发现监护、安全问题"), (2, "辍学"), (3, "监护情况一般"))),
        ),
    ],
)
def test_child_level_is_the_most_urgent_fact_with_every_reason(facts, expected):
    assert rules.child_level(**{**STABLE, **facts}) == expected


def test_levels_are_data_with_the_city_defaults(db):
    assert [(lv.rank, lv.name, lv.colour, lv.visit_interval_days) for lv in RiskLevel.objects.all()] == [
        (1, "一级", "red", 7),
        (2, "二级", "orange", 15),
        (3, "三级", "yellow", 30),
        (4, "四级", "green", 90),
    ]


def test_levels_fall_back_to_the_default_of_a_missing_rank(db):
    RiskLevel.objects.filter(rank=3).delete()
    RiskLevel.objects.filter(rank=1).update(name="红色", visit_interval_days=5)
    got = levels()
    assert [(rank, lv.name, lv.visit_interval_days, lv.pk is None) for rank, lv in got.items()] == [
        (1, "红色", 5, False),
        (2, "二级", 15, False),
        (3, "三级", 30, True),
        (4, "四级", 90, False),
    ]


def test_a_registered_child_gets_its_level_and_clock_at_once(tree):
    child = make_child(tree["410922100201"], guardian_assessment=GuardianAssessment.FAIR)
    care = ChildCare.objects.get(child=child)
    assert (care.village_code, care.in_register, care.computed_rank, care.reasons) == (
        "410922100201",
        True,
        3,
        [[3, "监护情况一般"]],
    )
    assert (care.counted_from, care.last_visit_on, care.visit_count) == (clock.today(), None, 0)


def test_a_registry_change_moves_the_level(tree, cast):
    child = make_child(tree["410922100201"])
    assert ChildCare.objects.get(child=child).computed_rank == 4
    child = records.record_update(
        record=child,
        user=cast["cadre_a"],
        data={"guardianship_type": GuardianshipType.NONE, "guardian_assessment": GuardianAssessment.NONE},
        version=child.version,
    )
    # The flag, and the urgent case the system opened for it (tests/test_care_cases.py).
    assert ChildCare.objects.values_list("computed_rank", "reasons").get(child=child) == (
        1,
        [[1, "无人监护"], [1, "有紧急强制报告尚未结案"]],
    )


def test_an_exited_child_leaves_the_care_counts(tree, cast):
    village = tree["410922100201"]
    child = make_child(village)
    make_child(village, schooling=Schooling.DROPPED_OUT)
    records.record_exit(
        record=child,
        user=cast["cadre_a"],
        reason=ExitReason.PARENTS_RETURNED,
        date=clock.today(),
        note="",
        version=1,
    )
    counts = region_counts(village, clock.today())
    assert (counts.children, counts.by_rank) == (1, {1: 0, 2: 1, 3: 0, 4: 0})
    assert ChildCare.objects.get(child=child).in_register is False


def test_the_bulk_path_of_the_import_gives_every_new_child_its_row(tree, cast):
    model = type(make_child(tree["410922100202"]))
    template = model.objects.get()
    fields = {f.name: getattr(template, f.name) for f in model._meta.concrete_fields if not f.primary_key}
    missing = {"father_status": ParentStatus.MISSING, "mother_status": ParentStatus.MISSING}
    rows = [
        model(**fields | missing | {"id_number": make_id_number("410922", template.birth_date)})
        for _ in range(3)
    ]
    created = records.record_create_many(model=model, user=cast["county"], records=rows)
    got = ChildCare.objects.filter(child__in=created).order_by("pk").values_list("computed_rank", "reasons")
    assert list(got) == [(1, [[1, "父母均失联"]])] * 3


# --- a reviewer's override ----------------------------------------------------------------------


def test_township_reviewer_overrides_until_the_review_date_then_the_rules_speak_again(tree, cast):
    child = make_child(tree["410922100201"])
    today = clock.today()
    care = level_override_set(
        child=child,
        user=cast["township"],
        rank=2,
        reason="祖母近期住院",
        until=today + timedelta(days=10),
        today=today,
    )
    assert [
        care.rank_on(today),
        care.rank_on(today + timedelta(days=9)),
        care.rank_on(today + timedelta(days=10)),
    ] == [2, 2, 4]
    village = tree["410922100201"]
    assert region_counts(village, today + timedelta(days=9)).by_rank == {1: 0, 2: 1, 3: 0, 4: 0}
    assert region_counts(village, today + timedelta(days=10)).by_rank == {1: 0, 2: 0, 3: 0, 4: 1}
    history = LevelOverride.objects.get(child=child)
    assert (history.computed_rank, history.rank, history.reason, history.set_by) == (
        4,
        2,
        "祖母近期住院",
        cast["township"],
    )


def test_a_second_override_keeps_the_first_in_history(tree, cast):
    child = make_child(tree["410922100201"])
    today = clock.today()
    for rank, reason in ((2, "祖母近期住院"), (3, "祖母已出院")):
        level_override_set(
            child=child,
            user=cast["township"],
            rank=rank,
            reason=reason,
            until=today + timedelta(days=30),
            today=today,
        )
    assert list(LevelOverride.objects.filter(child=child).values_list("rank", "reason")) == [
        (3, "祖母已出院"),
        (2, "祖母近期住院"),
    ]
    assert ChildCare.objects.get(child=child).rank_on(today) == 3


@pytest.mark.parametrize(
    ("who", "rank", "reason", "days", "message"),
    [
        ("cadre_a", 2, "理由", 10, "只有乡镇审核员（儿童督导员）可以调整本乡镇儿童的风险等级。"),
        ("county", 2, "理由", 10, "只有乡镇审核员（儿童督导员）可以调整本乡镇儿童的风险等级。"),
        ("township", 5, "理由", 10, "请选择风险等级。"),
        ("township", 2, "  ", 10, "请写明调整理由。"),
        ("township", 2, "理由", 0, "下次复核日期应在今天之后、一年之内。"),
        ("township", 2, "理由", 367, "下次复核日期应在今天之后、一年之内。"),
    ],
)
def test_an_override_is_refused_with_a_reason_and_nothing_written(
    tree, cast, who, rank, reason, days, message
):
    child = make_child(tree["410922100201"])
    today = clock.today()
    with pytest.raises(ValidationError) as refused:
        level_override_set(
            child=child,
            user=cast[who],
            rank=rank,
            reason=reason,
            until=today + timedelta(days=days),
            today=today,
        )
    assert refused.value.messages == [message]
    assert (LevelOverride.objects.count(), ChildCare.objects.get(child=child).override_rank) == (0, None)


def test_another_townships_reviewer_may_not_override(tree, cast):
    child = make_child(tree["410923100201"])
    with pytest.raises(ValidationError):
        level_override_set(
            child=child, user=cast["township"], rank=1, reason="理由", until=clock.today() + timedelta(days=5)
        )
