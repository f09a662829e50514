"""Issue 13 item 2 and issue 14 item 3: who may change a record is one policy predicate, and a
village whose return is approved stops inviting entry before anyone types — while the server
refuses the change too."""

import pytest
from django.urls import reverse

from accounts import policy
from registry import records
from registry.access import get_record_for_user, may_enter_records
from registry.models import Child, Region
from survey import services
from survey.models import VillageReturn
from tests.factories import child_post_data, form_data, make_child

A, B = "410922100201", "410922100202"


def _approved(cast, campaign, code):
    ret = VillageReturn.objects.select_related("campaign", "village").get(
        campaign=campaign, village__code=code
    )
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=ret)
    return services.village_return_approve(user=cast["township"], village_return=ret)


@pytest.fixture
def locked(cast, tree, campaign):
    child = make_child(tree[A])
    ret = _approved(cast, campaign, A)
    return child, ret


def test_the_lock_is_stored_on_the_village_and_lifted_by_reopening(cast, tree, locked):
    child, ret = locked
    assert Region.objects.get(code=A).records_locked is True
    assert Region.objects.get(code=B).records_locked is False
    services.village_return_reopen(user=cast["township"], village_return=ret, reason="补录")
    assert Region.objects.get(code=A).records_locked is False


def test_closing_the_campaign_lifts_every_lock_and_ages_count_on_today(cast, tree, campaign, locked):
    services.campaign_close(user=cast["city"], campaign=campaign)
    assert Region.objects.filter(records_locked=True).count() == 0
    assert Region.objects.get(code="410900000000").campaign_reference_date is None


def test_can_edit_record_is_the_one_answer(cast, tree, locked):
    child, _ = locked
    child = Child.objects.select_related("village").get(pk=child.pk)
    answers = {who: policy.can_edit_record(cast[who], child) for who in cast}
    assert answers == {
        "cadre_a": False,  # locked against the village's cadre
        "cadre_b": False,
        "cadre_c": False,
        "township": True,
        "county": True,
        "city": False,
        "supervisor": False,
        "liaison": False,
        "sysadmin": False,
    }
    record, rights = get_record_for_user(cast["cadre_a"], Child, child.pk)
    assert (record, rights.edit, rights.locked, rights.masked) == (child, False, True, False)


def test_a_locked_cadre_is_told_before_typing_and_offered_no_entry(client, cast, tree, locked):
    child, _ = locked
    client.force_login(cast["cadre_a"])
    home = client.get(reverse("home"))
    page = home.content.decode()
    assert (home.context["can_enter"], 'id="quick-entry"' in page, page.count('id="records-locked"')) == (
        False,
        False,
        1,
    )
    listing = client.get(reverse("record_list", kwargs={"kind": "children"}))
    assert listing.context["can_create"] is False
    for url in (
        reverse("record_create", kwargs={"kind": "children"}),
        reverse("record_edit", kwargs={"kind": "children", "pk": child.pk}),
        reverse("record_status", kwargs={"kind": "children", "pk": child.pk}),
    ):
        response = client.get(url)
        body = response.content.decode()
        assert (
            response.status_code,
            body.count('id="records-locked"'),
            '<form method="post" novalidate' in body,
        ) == (
            200,
            1,
            False,
        ), url
    detail = client.get(reverse("record_detail", kwargs={"kind": "children", "pk": child.pk}))
    assert (detail.context["can_edit"], detail.context["locked"]) == (False, True)


def test_the_server_still_refuses_a_locked_cadres_change(client, cast, tree, locked):
    child, _ = locked
    client.force_login(cast["cadre_a"])
    url = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    response = client.post(url, form_data(child, cast["cadre_a"], name="改名"))
    assert response.context["form"].non_field_errors() == [records.LOCKED_MESSAGE]
    new = client.post(reverse("record_create", kwargs={"kind": "children"}), child_post_data(tree[A]))
    assert new.context["form"].non_field_errors() == [records.LOCKED_MESSAGE]
    assert (Child.objects.get(pk=child.pk).name, Child.objects.count()) == (child.name, 1)


def test_the_reviewer_above_still_enters_and_corrects(client, cast, tree, locked):
    child, _ = locked
    assert may_enter_records(cast["township"]) is True
    client.force_login(cast["township"])
    response = client.get(reverse("record_edit", kwargs={"kind": "children", "pk": child.pk}))
    assert (response.status_code, 'id="records-locked"' in response.content.decode()) == (200, False)


def test_a_reader_who_never_edits_is_refused_the_change_pages(client, cast, tree, locked):
    child, _ = locked
    client.force_login(cast["city"])
    url = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    assert client.get(url).status_code == 403
