"""The village return workflow (DESIGN §5): every transition allowed and refused, per role and state."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from registry import records
from registry.choices import Category
from survey import services
from survey.models import Campaign, CampaignStatus, ReturnAction, ReturnEvent, ReturnState, VillageReturn
from tests.factories import child_post_data, form_data, make_child

A, B = "410922100201", "410922100202"
S = ReturnState


def _ret(campaign, code):
    return VillageReturn.objects.select_related("campaign", "village").get(
        campaign=campaign, village__code=code
    )


def _set_state(ret, state):
    VillageReturn.objects.filter(pk=ret.pk).update(state=state)
    ret.refresh_from_db()
    return ret


def test_campaign_start_creates_a_return_per_village(campaign):
    assert campaign.status == CampaignStatus.ACTIVE
    assert VillageReturn.objects.filter(campaign=campaign).count() == 8
    assert set(VillageReturn.objects.values_list("state", flat=True)) == {S.NOT_STARTED}


@pytest.mark.parametrize("who", ["county", "township", "supervisor", "sysadmin"])
def test_only_the_city_office_creates_campaigns(cast, tree, who):
    with pytest.raises(services.TransitionRefused) as exc:
        services.campaign_create(
            user=cast[who],
            name="x",
            region=tree["4109"],
            reference_date=date(2022, 7, 31),
            start_date=date(2022, 8, 1),
            deadline=date(2022, 9, 1),
            categories=[Category.CHILD],
        )
    assert exc.value.messages == ["只有市民政局可以发起摸底排查。"]
    assert Campaign.objects.count() == 0


def test_a_second_campaign_cannot_start_while_one_runs(cast, tree, campaign):
    second = services.campaign_create(
        user=cast["city"],
        name="2023年",
        region=tree["4109"],
        reference_date=date(2023, 7, 31),
        start_date=date(2023, 8, 1),
        deadline=date(2023, 9, 1),
        categories=[Category.CHILD],
    )
    with pytest.raises(services.TransitionRefused) as exc:
        services.campaign_start(user=cast["city"], campaign=second)
    assert exc.value.messages == ["已有一项摸底排查正在进行，请先结束它。"]


def test_submit_snapshots_the_counts(cast, tree, campaign):
    make_child(tree[A])
    make_child(tree[A])
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    assert ret.state == S.SUBMITTED
    assert ret.snapshot == {"child": 2, "woman": 0, "elder": 0}
    assert ret.is_zero_return is False
    event = ReturnEvent.objects.get(village_return=ret)
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        ReturnAction.SUBMIT,
        S.NOT_STARTED,
        S.SUBMITTED,
        cast["cadre_a"],
    )


def test_an_empty_village_must_submit_a_zero_return(cast, campaign):
    ret = _ret(campaign, A)
    with pytest.raises(services.TransitionRefused) as exc:
        services.village_return_submit(user=cast["cadre_a"], village_return=ret)
    assert exc.value.messages == ["本村尚未登记任何人员：如经排查确实没有，请提交零报告。"]
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=ret, zero=True)
    assert (ret.state, ret.is_zero_return, ret.snapshot) == (
        S.SUBMITTED,
        True,
        {"child": 0, "woman": 0, "elder": 0},
    )


def test_a_village_with_records_cannot_submit_a_zero_return(cast, tree, campaign):
    make_child(tree[A])
    with pytest.raises(services.TransitionRefused) as exc:
        services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A), zero=True)
    assert exc.value.messages == ["本村已登记 1 人，不能提交零报告。"]
    assert _ret(campaign, A).state == S.NOT_STARTED


@pytest.mark.parametrize("who", ["cadre_b", "township", "county", "city"])
def test_only_the_village_cadre_submits(cast, campaign, who):
    with pytest.raises(services.TransitionRefused):
        services.village_return_submit(user=cast[who], village_return=_ret(campaign, A), zero=True)
    assert _ret(campaign, A).state == S.NOT_STARTED


# (action, state it starts from) → allowed? The role is always the right one.
ACTIONS = {
    "start": ("cadre_a", lambda ret, user: services.village_return_start(user=user, village_return=ret)),
    "submit_zero": (
        "cadre_a",
        lambda ret, user: services.village_return_submit(user=user, village_return=ret, zero=True),
    ),
    "send_back": (
        "township",
        lambda ret, user: services.village_return_send_back(user=user, village_return=ret, reason="漏报一户"),
    ),
    "approve": ("township", lambda ret, user: services.village_return_approve(user=user, village_return=ret)),
    "reopen": (
        "township",
        lambda ret, user: services.village_return_reopen(
            user=user, village_return=ret, reason="补录一名儿童"
        ),
    ),
}
EXPECTED = {
    ("start", S.NOT_STARTED): S.IN_PROGRESS,
    ("submit_zero", S.NOT_STARTED): S.SUBMITTED,
    ("submit_zero", S.IN_PROGRESS): S.SUBMITTED,
    ("send_back", S.SUBMITTED): S.IN_PROGRESS,
    ("approve", S.SUBMITTED): S.TOWNSHIP_APPROVED,
    ("reopen", S.TOWNSHIP_APPROVED): S.IN_PROGRESS,
}


@pytest.mark.parametrize("state", S.values)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_transition_table(cast, campaign, action, state):
    who, run = ACTIONS[action]
    ret = _set_state(_ret(campaign, A), state)
    expected = EXPECTED.get((action, state))
    if action == "reopen" and state == S.COUNTY_APPROVED:
        expected = None  # only the county officer reopens a county-approved return
    if expected is None:
        with pytest.raises(services.TransitionRefused):
            run(ret, cast[who])
        assert _ret(campaign, A).state == state
        assert ReturnEvent.objects.count() == 0
    else:
        assert run(ret, cast[who]).state == expected
        assert ReturnEvent.objects.get().to_state == expected


@pytest.mark.parametrize("action", ["send_back", "approve", "reopen"])
@pytest.mark.parametrize("who", ["cadre_a", "county", "city", "supervisor", "liaison"])
def test_only_the_township_reviewer_reviews(cast, campaign, action, who):
    state = S.TOWNSHIP_APPROVED if action == "reopen" else S.SUBMITTED
    ret = _set_state(_ret(campaign, A), state)
    with pytest.raises(services.TransitionRefused):
        ACTIONS[action][1](ret, cast[who])
    assert _ret(campaign, A).state == state


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda u, r: services.village_return_send_back(user=u, village_return=r, reason="  "),
            "退回必须填写原因。",
        ),
        (
            lambda u, r: services.village_return_reopen(user=u, village_return=r, reason=""),
            "重新打开必须填写原因。",
        ),
    ],
)
def test_sending_back_and_reopening_need_a_reason(cast, campaign, call, message):
    ret = _set_state(_ret(campaign, A), S.SUBMITTED)
    if "重新打开" in message:
        ret = _set_state(ret, S.TOWNSHIP_APPROVED)
    with pytest.raises(services.TransitionRefused) as exc:
        call(cast["township"], ret)
    assert exc.value.messages == [message]


def test_send_back_records_the_reason(cast, campaign):
    ret = _set_state(_ret(campaign, A), S.SUBMITTED)
    ret = services.village_return_send_back(user=cast["township"], village_return=ret, reason="漏报一户")
    assert ret.last_reason == "漏报一户"
    assert list(ReturnEvent.objects.values_list("reason", "actor__username")) == [("漏报一户", "township")]


def test_approval_locks_the_records_against_the_cadre_until_reopened(cast, tree, campaign):
    make_child(tree[A])
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    services.village_return_approve(user=cast["township"], village_return=ret)
    assert records.village_locked_for(cast["cadre_a"], tree[A]) is True
    assert records.village_locked_for(cast["cadre_b"], tree[B]) is False
    assert records.village_locked_for(cast["township"], tree[A]) is False
    services.village_return_reopen(user=cast["township"], village_return=ret, reason="补录")
    assert records.village_locked_for(cast["cadre_a"], tree[A]) is False


def _approve_township(cast, campaign, codes):
    for code in codes:
        ret = _set_state(_ret(campaign, code), S.SUBMITTED)
        services.village_return_approve(user=cast["township"], village_return=ret)


def test_county_signs_off_a_township_once_all_villages_are_approved(cast, tree, campaign):
    township = tree["410922100"]
    _approve_township(cast, campaign, [A])
    with pytest.raises(services.TransitionRefused) as exc:
        services.township_approve(user=cast["county"], campaign=campaign, township=township)
    assert exc.value.messages == ["县1镇1还有 1 个村（社区）未经乡镇审核，不能县级审核。"]
    _approve_township(cast, campaign, [B])
    assert services.township_approve(user=cast["county"], campaign=campaign, township=township) == 2
    assert set(VillageReturn.objects.in_region(township).values_list("state", flat=True)) == {
        S.COUNTY_APPROVED
    }
    assert ReturnEvent.objects.filter(action=ReturnAction.COUNTY_APPROVE).count() == 2
    with pytest.raises(services.TransitionRefused) as exc:
        services.township_approve(user=cast["county"], campaign=campaign, township=township)
    assert exc.value.messages == ["县1镇1已经县级审核。"]


@pytest.mark.parametrize("who", ["township", "city", "cadre_a"])
def test_only_the_county_officer_signs_off_townships(cast, tree, campaign, who):
    _approve_township(cast, campaign, [A, B])
    with pytest.raises(services.TransitionRefused):
        services.township_approve(user=cast[who], campaign=campaign, township=tree["410922100"])


def test_county_officer_reopens_a_county_approved_village(cast, tree, campaign):
    _approve_township(cast, campaign, [A, B])
    services.township_approve(user=cast["county"], campaign=campaign, township=tree["410922100"])
    with pytest.raises(services.TransitionRefused):
        services.village_return_reopen(user=cast["township"], village_return=_ret(campaign, A), reason="x")
    ret = services.village_return_reopen(
        user=cast["county"], village_return=_ret(campaign, A), reason="抽查发现漏报"
    )
    assert ret.state == S.IN_PROGRESS


def test_snapshot_and_live_registry_can_be_compared(cast, tree, campaign):
    make_child(tree[A])
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    assert services.snapshot_differences(ret) == {}
    make_child(tree[A])
    assert services.snapshot_differences(ret) == {"留守儿童": (1, 2)}


def test_overdue_returns_are_the_open_ones_after_the_deadline(cast, campaign):
    _set_state(_ret(campaign, A), S.IN_PROGRESS)
    _set_state(_ret(campaign, B), S.SUBMITTED)
    assert VillageReturn.objects.overdue().count() == 0
    later = campaign.deadline + timedelta(days=1)
    overdue = set(VillageReturn.objects.overdue(today=later).values_list("village_code", flat=True))
    assert overdue == {code for code in VillageReturn.objects.values_list("village_code", flat=True)} - {B}


def test_a_closed_campaign_refuses_transitions(cast, campaign):
    services.campaign_close(user=cast["city"], campaign=campaign)
    with pytest.raises(services.TransitionRefused) as exc:
        services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A), zero=True)
    assert exc.value.messages == ["该摸底排查不在进行中，报表不能再变动。"]


def test_the_cadre_cannot_edit_an_approved_village_until_it_is_reopened(client, cast, tree, campaign):
    child = make_child(tree[A])
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    ret = services.village_return_approve(user=cast["township"], village_return=ret)
    client.force_login(cast["cadre_a"])
    url = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    response = client.post(url, form_data(child, cast["cadre_a"], name="改名"))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [records.LOCKED_MESSAGE]
    child.refresh_from_db()
    assert child.name != "改名"
    detail = client.get(reverse("record_detail", kwargs={"kind": "children", "pk": child.pk}))
    assert detail.context["can_edit"] is False
    new = client.post(reverse("record_create", kwargs={"kind": "children"}), child_post_data(tree[A]))
    assert new.context["form"].non_field_errors() == [records.LOCKED_MESSAGE]
    # The township reviewer may still correct; reopening unlocks the cadre.
    services.village_return_reopen(user=cast["township"], village_return=ret, reason="补录")
    assert client.post(url, form_data(child, cast["cadre_a"], name="改名")).status_code == 302
    child.refresh_from_db()
    assert child.name == "改名"


def test_a_resent_new_campaign_form_makes_no_second_draft(client, cast, tree):
    """A replayed 新建摸底排查 (a double click, a resent form) is refused by the campaign's name."""
    client.force_login(cast["city"])
    data = {
        "name": "2023年摸底排查",
        "reference_date": "2023-07-31",
        "start_date": "2023-08-01",
        "deadline": "2023-09-30",
        "categories": ["child", "woman", "elder"],
    }
    assert client.post(reverse("campaign_list"), data).status_code == 302
    again = client.post(reverse("campaign_list"), data)
    assert (again.status_code, again.context["form"].non_field_errors()) == (
        200,
        ["已有同名的摸底排查，请换一个名称（如加上年份）。"],
    )
    assert Campaign.objects.filter(name="2023年摸底排查").count() == 1
