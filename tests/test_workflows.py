"""Each workflow's table against its services (issue 13 item 3): every (state, action) of the
table moves the object where the row says, for the person the row allows and for nobody else;
every pair not in the table is refused and changes nothing; and a page shows exactly the buttons
of the rows its viewer may take now.
"""

import re
from datetime import date

import pytest
from django.urls import reverse

from accounts.models import Role
from survey import services, supervision, workflows
from survey.models import Rectification, RectificationStatus, ReturnEvent, ReturnState, VillageReturn
from tests.factories import UserFactory, make_child
from workflow import TransitionRefused

A, B = "410922100201", "410922100202"
TOWNSHIP = "410922100"
REASON = "核实后处理"


def _return(campaign, code, state):
    VillageReturn.objects.filter(campaign=campaign, village__code=code).update(state=state)
    return VillageReturn.objects.select_related("campaign", "village").get(
        campaign=campaign, village__code=code
    )


def _run_return(action, user, ret, campaign, tree):
    """The service behind ``action`` (county sign-off is of a whole township)."""
    if action == "county_approve":
        return services.township_approve(user=user, campaign=campaign, township=tree[TOWNSHIP])
    call = {
        "start": lambda: services.village_return_start(user=user, village_return=ret),
        "submit": lambda: services.village_return_submit(user=user, village_return=ret),
        "submit_zero": lambda: services.village_return_submit(user=user, village_return=ret, zero=True),
        "send_back": lambda: services.village_return_send_back(user=user, village_return=ret, reason=REASON),
        "approve": lambda: services.village_return_approve(user=user, village_return=ret),
        "reopen": lambda: services.village_return_reopen(user=user, village_return=ret, reason=REASON),
    }[action]
    return call()


def _who_may(cast, row_or_action):
    """A person of the standing cast whom the table allows (the row's may), for village A."""
    return {
        "start": "cadre_a",
        "submit": "cadre_a",
        "submit_zero": "cadre_a",
        "send_back": "township",
        "approve": "township",
        "reopen": "township",
        "county_approve": "county",
    }[row_or_action]


def test_the_return_table_is_what_design_section_5_draws():
    S = ReturnState
    table = {(source, action): row.target for (source, action), row in workflows.RETURN.rows.items()}
    assert table == {
        (S.NOT_STARTED, "start"): S.IN_PROGRESS,
        (S.NOT_STARTED, "submit"): S.SUBMITTED,
        (S.IN_PROGRESS, "submit"): S.SUBMITTED,
        (S.NOT_STARTED, "submit_zero"): S.SUBMITTED,
        (S.IN_PROGRESS, "submit_zero"): S.SUBMITTED,
        (S.SUBMITTED, "approve"): S.TOWNSHIP_APPROVED,
        (S.SUBMITTED, "send_back"): S.IN_PROGRESS,
        (S.TOWNSHIP_APPROVED, "reopen"): S.IN_PROGRESS,
        (S.TOWNSHIP_APPROVED, "county_approve"): S.COUNTY_APPROVED,
        (S.COUNTY_APPROVED, "reopen"): S.IN_PROGRESS,
    }


@pytest.mark.parametrize("state", ReturnState.values)
@pytest.mark.parametrize("action", workflows.RETURN.actions)
def test_every_return_action_in_every_state_does_what_the_table_says(cast, tree, campaign, action, state):
    if action == "submit":
        make_child(tree[A])
    ret = _return(campaign, A, state)
    if action == "county_approve":
        _return(campaign, B, state)
    row = workflows.RETURN.row(state, action)
    who = (
        "county" if (action == "reopen" and state == ReturnState.COUNTY_APPROVED) else _who_may(cast, action)
    )
    if row is None:
        with pytest.raises(TransitionRefused):
            _run_return(action, cast[who], ret, campaign, tree)
        assert (_return(campaign, A, state).state, ReturnEvent.objects.count()) == (state, 0)
        return
    assert row.may(cast[who], ret) is True
    _run_return(action, cast[who], ret, campaign, tree)
    ret.refresh_from_db()
    assert ret.state == row.target
    assert list(ReturnEvent.objects.filter(village_return=ret).values_list("from_state", "to_state")) == [
        (state, row.target)
    ]


@pytest.mark.parametrize(("state", "action"), list(workflows.RETURN.rows))
def test_nobody_the_row_does_not_allow_takes_it(cast, tree, campaign, state, action):
    if action == "submit":
        make_child(tree[A])
    ret = _return(campaign, A, state)
    if action == "county_approve":
        _return(campaign, B, state)
    row = workflows.RETURN.row(state, action)
    for who, user in cast.items():
        if row.may(user, ret):
            continue
        with pytest.raises(TransitionRefused):
            _run_return(action, user, ret, campaign, tree)
        assert _return(campaign, A, state).state == state, who
    assert ReturnEvent.objects.count() == 0


@pytest.mark.parametrize("state", ReturnState.values)
def test_the_return_page_shows_exactly_the_buttons_its_viewer_may_press(client, cast, tree, campaign, state):
    make_child(tree[A])
    ret = _return(campaign, A, state)
    for who in ("cadre_a", "township", "county", "city"):
        client.force_login(cast[who])
        page = client.get(reverse("survey_return", args=[ret.pk])).content.decode()
        shown = re.findall(r'data-action="([a-z_]+)"', page)
        allowed = [row.action for row in workflows.RETURN.allowed(cast[who], ret)]
        # County sign-off is pressed for a whole township on the county's progress page.
        assert shown == [a for a in allowed if a != "county_approve"], (who, state)


def test_a_township_submits_for_a_village_without_a_cadre_and_it_shows(client, cast, tree, campaign):
    """Issue 14 item 5: 乡镇代报 — and only where the village has no cadre account."""
    make_child(tree[B])
    cast["cadre_b"].is_active = False
    cast["cadre_b"].save()
    ret = _return(campaign, B, ReturnState.NOT_STARTED)
    client.force_login(cast["township"])
    page = client.get(reverse("survey_return", args=[ret.pk])).content.decode()
    assert re.findall(r'data-action="([a-z_]+)"', page) == ["start", "submit", "submit_zero"]
    assert 'id="on-behalf-hint"' in page
    response = client.post(reverse("survey_return_action", args=[ret.pk, "submit"]))
    assert response.status_code == 302
    ret.refresh_from_db()
    assert (ret.state, ret.submitted_on_behalf) == (ReturnState.SUBMITTED, True)
    event = ReturnEvent.objects.get(village_return=ret)
    assert (event.on_behalf, str(event)) == (True, "提交：未开始 → 已提交（乡镇代报）")
    client.force_login(cast["county"])
    assert client.get(reverse("survey_return", args=[ret.pk])).content.decode().count('id="on-behalf"') == 1
    # Village A has its cadre: the township may not submit for it.
    with pytest.raises(TransitionRefused) as refused:
        services.village_return_submit(
            user=cast["township"], village_return=_return(campaign, A, "not_started")
        )
    assert refused.value.messages == ["只有本村的村干部可以提交本村报表。"]


# --- rectification items ---------------------------------------------------------------------


@pytest.fixture
def item(cast, tree):
    inspection = supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=date(2022, 9, 10), team="陈督导"
    )
    return supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="补齐监护人电话",
        responsible_unit="县民政局",
        deadline=date(2030, 1, 1),
    )


@pytest.fixture
def officer2(tree):
    return UserFactory(username="county2", role=Role.COUNTY_OFFICER, region=tree["410923"])


def _run_item(action, user, item):
    return {
        "done": lambda: supervision.rectification_mark_done(user=user, item=item, evidence="已补齐"),
        "close": lambda: supervision.rectification_close(user=user, item=item),
        "reopen": lambda: supervision.rectification_reopen(user=user, item=item),
    }[action]()


@pytest.mark.parametrize("state", RectificationStatus.values)
@pytest.mark.parametrize("action", workflows.RECTIFICATION.actions)
def test_every_rectification_action_in_every_state_does_what_the_table_says(
    cast, officer2, item, action, state
):
    Rectification.objects.filter(pk=item.pk).update(status=state)
    item.refresh_from_db()
    who = officer2 if action == "done" else cast["supervisor"]
    row = workflows.RECTIFICATION.row(state, action)
    if row is None:
        with pytest.raises(supervision.SupervisionRefused):
            _run_item(action, who, item)
        assert Rectification.objects.get(pk=item.pk).status == state
        return
    for user in (*cast.values(), officer2):
        if not row.may(user, item):
            with pytest.raises(supervision.SupervisionRefused):
                _run_item(action, user, item)
            assert Rectification.objects.get(pk=item.pk).status == state
    assert _run_item(action, who, item).status == row.target
