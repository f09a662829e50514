"""Supervision: inspections, reproducible stratified spot-check samples, rectification items."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.utils import timezone

from registry.choices import RecordStatus
from registry.models import Child
from survey import supervision
from survey.models import Inspection, Rectification, RectificationStatus, SpotCheck, Verdict
from tests.factories import UserFactory, make_child

COUNTY2 = "410923"


@pytest.fixture
def records(tree):
    """30 children in county 2: 20 in its first township, 10 in the second; 5 in county 1."""
    made = [make_child(tree[f"410923100{201 + n % 2}"]) for n in range(20)]
    made += [make_child(tree[f"410923101{201 + n % 2}"]) for n in range(10)]
    made += [make_child(tree["410922100201"]) for _ in range(5)]
    return made


@pytest.fixture
def inspection(cast, tree):
    return supervision.inspection_create(
        user=cast["supervisor"], county=tree[COUNTY2], date=date(2022, 9, 10), team="陈督导、王科长"
    )


def test_same_seed_same_sample(tree, records):
    first = supervision.draw_sample(tree[COUNTY2], 9, "20220910")
    assert supervision.draw_sample(tree[COUNTY2], 9, "20220910") == first
    assert supervision.draw_sample(tree[COUNTY2], 9, "20220911") != first


def test_sample_is_stratified_by_township_in_proportion(tree, records):
    sample = supervision.draw_sample(tree[COUNTY2], 9, "seed")
    assert len(sample) == 9
    assert len({pk for pk, _ in sample}) == 9
    assert Counter(code[:9] for _, code in sample) == {"410923100": 6, "410923101": 3}
    assert all(code.startswith(COUNTY2) for _, code in sample)


def test_sample_ignores_exited_records_and_caps_at_the_population(tree, records):
    Child.objects.filter(village_code__startswith="410923101").update(status=RecordStatus.EXITED)
    sample = supervision.draw_sample(tree[COUNTY2], 100, "seed")
    assert len(sample) == 20
    assert {code[:9] for _, code in sample} == {"410923100"}


@pytest.mark.parametrize(
    ("sizes", "total", "expected"),
    [
        ({"a": 20, "b": 10}, 9, {"a": 6, "b": 3}),
        ({"a": 1, "b": 1, "c": 1}, 2, {"a": 1, "b": 1, "c": 0}),
        ({"a": 5}, 10, {"a": 5}),
        ({"a": 0, "b": 3}, 2, {"a": 0, "b": 2}),
    ],
)
def test_allocation(sizes, total, expected):
    assert supervision.allocate(sizes, total) == expected


def test_inspection_sample_is_drawn_once(cast, inspection, records):
    supervision.inspection_draw_sample(
        user=cast["supervisor"], inspection=inspection, size=9, seed="20220910"
    )
    assert SpotCheck.objects.filter(inspection=inspection).count() == 9
    with pytest.raises(supervision.SupervisionRefused) as exc:
        supervision.inspection_draw_sample(user=cast["supervisor"], inspection=inspection, size=9, seed="x")
    assert exc.value.messages == ["本次督导已经抽样，不能重复抽取。"]


@pytest.mark.parametrize("who", ["county", "township", "liaison", "cadre_c"])
def test_only_supervisors_and_the_city_inspect(cast, tree, who):
    with pytest.raises(supervision.SupervisionRefused):
        supervision.inspection_create(user=cast[who], county=tree[COUNTY2], date=date(2022, 9, 1), team="x")
    assert Inspection.objects.count() == 0


def test_a_supervisor_inspects_only_assigned_counties(cast, tree):
    with pytest.raises(supervision.SupervisionRefused):
        supervision.inspection_create(
            user=cast["supervisor"], county=tree["410922"], date=date(2022, 9, 1), team="x"
        )
    assert supervision.inspection_create(
        user=cast["city"], county=tree["410922"], date=date(2022, 9, 1), team="x"
    )


def test_spot_check_verdicts(cast, inspection, records):
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=inspection, size=3, seed="s")
    check = SpotCheck.objects.filter(inspection=inspection).first()
    with pytest.raises(supervision.SupervisionRefused) as exc:
        supervision.spot_check_record(user=cast["supervisor"], check=check, verdict=Verdict.WRONG)
    assert exc.value.messages == ["核查结果为不属实或信息有误时，请写明情况。"]
    supervision.spot_check_record(
        user=cast["supervisor"], check=check, verdict=Verdict.WRONG, note="监护人电话错误"
    )
    check.refresh_from_db()
    assert (check.verdict, check.note, check.checked_by) == (
        Verdict.WRONG,
        "监护人电话错误",
        cast["supervisor"],
    )


def test_rectification_lifecycle(cast, inspection):
    item = supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="补齐缺失的监护人电话",
        responsible_unit="县2民政局",
        deadline=timezone.localdate() + timedelta(days=15),
    )
    assert (item.status, item.county_code) == (RectificationStatus.OPEN, "410923000000")
    with pytest.raises(supervision.SupervisionRefused):
        supervision.rectification_close(user=cast["supervisor"], item=item)
    county2_officer = cast["county"]
    with pytest.raises(supervision.SupervisionRefused):  # an officer of another county
        supervision.rectification_mark_done(user=county2_officer, item=item, evidence="已补齐")
    officer = UserFactory(role="county_officer", region=inspection.county)
    with pytest.raises(supervision.SupervisionRefused) as exc:
        supervision.rectification_mark_done(user=officer, item=item, evidence=" ")
    assert exc.value.messages == ["请填写整改情况或佐证材料说明。"]
    item = supervision.rectification_mark_done(user=officer, item=item, evidence="已逐户核实补齐")
    assert item.status == RectificationStatus.DONE
    item = supervision.rectification_reopen(user=cast["supervisor"], item=item)
    item = supervision.rectification_mark_done(user=officer, item=item, evidence="已逐户核实补齐并复核")
    item = supervision.rectification_close(user=cast["supervisor"], item=item)
    assert item.status == RectificationStatus.CLOSED


def test_overdue_rectifications(cast, inspection):
    for days, status in (
        (-1, RectificationStatus.OPEN),
        (-1, RectificationStatus.DONE),
        (3, RectificationStatus.OPEN),
    ):
        item = supervision.rectification_create(
            user=cast["supervisor"],
            inspection=inspection,
            description=f"事项{days}{status}",
            responsible_unit="县2民政局",
            deadline=timezone.localdate() + timedelta(days=days),
        )
        Rectification.objects.filter(pk=item.pk).update(status=status)
    assert list(Rectification.objects.overdue().values_list("description", flat=True)) == ["事项-1open"]
