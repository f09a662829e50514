"""Who reaches which record page: every role of the standing cast, every page, in and out of
scope, every method. Outside a user's scope a record is a 404, exactly like a missing one."""

import pytest
from django.urls import reverse

from registry.choices import RecordStatus
from registry.models import Child, Elder, IdentityClaim, Woman
from tests.factories import (
    ChildFactory,
    ElderFactory,
    WomanFactory,
    child_post_data,
    elder_post_data,
    form_data,
    woman_post_data,
)

A, B, C = "410922100201", "410922100202", "410923100201"
OTHER_TOWNSHIP, OTHER_COUNTY = "410922101201", "410923101202"

FACTORIES = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}
MODELS = {"children": Child, "women": Woman, "elders": Elder}
POST_DATA = {"children": child_post_data, "women": woman_post_data, "elders": elder_post_data}

# Which of the records in villages A and C each role reads, and whether it edits what it reads.
READS = {
    "cadre_a": {A},
    "cadre_b": set(),
    "cadre_c": {C},
    "township": {A},
    "county": {A},
    "city": {A, C},
    "supervisor": {C},
    "liaison": {A, C},
    "sysadmin": set(),
}
EDITORS = {"cadre_a", "cadre_b", "cadre_c", "township", "county"}
# The village each editor enters new records in.
HOME_VILLAGE = {"cadre_a": A, "cadre_b": B, "cadre_c": C, "township": B, "county": OTHER_TOWNSHIP}

RECORD_PAGES = ["record_detail", "record_edit", "record_status", "record_history"]
GET_ONLY_PAGES = ["record_list", "record_detail", "record_history"]
INVALID_CHOICE = "选择一个有效的选项： 该选择不在可用的选项中。"


def _records(tree, slug):
    """One record of kind ``slug`` in village A and one in village C, keyed by village code."""
    return {code: FACTORIES[slug](village=tree[code]) for code in (A, C)}


def _url(page, slug, record=None):
    if page in ("record_list", "record_create"):
        return reverse(page, kwargs={"kind": slug})
    return reverse(page, kwargs={"kind": slug, "pk": record if isinstance(record, int) else record.pk})


def _snapshot(record):
    record = type(record).objects.get(pk=record.pk)
    return (record.name, record.village_id, record.status, record.version)


def _exit_data(record):
    return {"reason": "parents_returned", "date": "2026-11-01", "note": "全家外出", "version": record.version}


# --- anonymous -----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("page", ["record_list", "record_create", *RECORD_PAGES])
def test_record_page_anonymous_get_redirects_to_login(client, tree, slug, page):
    url = _url(page, slug, _records(tree, slug)[A])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("page", ["record_create", "record_edit", "record_status"])
def test_record_page_anonymous_post_redirects_to_login_and_changes_nothing(client, tree, page):
    record = _records(tree, "children")[A]
    before = _snapshot(record)
    url = _url(page, "children", record)
    response = client.post(url, child_post_data(tree[A]))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert _snapshot(record) == before
    assert Child.objects.count() == 2


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("who", sorted(READS))
def test_record_list_shows_only_the_scope(client, cast, tree, who, slug):
    records = _records(tree, slug)
    client.force_login(cast[who])
    response = client.get(_url("record_list", slug))
    if who == "sysadmin":
        assert response.status_code == 404
        return
    assert response.status_code == 200
    shown = {r.name for r in response.context["page"].object_list}
    assert shown == {records[code].name for code in READS[who]}
    body = response.content.decode()
    for code, record in records.items():
        assert (record.name in body) == (code in READS[who])


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("village", [A, C])
@pytest.mark.parametrize("page", ["record_detail", "record_history"])
@pytest.mark.parametrize("who", sorted(READS))
def test_record_read_page_in_scope_or_404(client, cast, tree, who, page, village, slug):
    record = _records(tree, slug)[village]
    client.force_login(cast[who])
    response = client.get(_url(page, slug, record))
    if village in READS[who]:
        assert response.status_code == 200
        assert response.context["record"] == record
    else:
        assert response.status_code == 404
        assert record.name not in response.content.decode()


# --- changing ------------------------------------------------------------------------------


def _change_status(who, village):
    if village not in READS[who]:
        return 404
    return 200 if who in EDITORS else 403


@pytest.mark.parametrize("village", [A, C])
@pytest.mark.parametrize("page", ["record_edit", "record_status"])
@pytest.mark.parametrize("who", sorted(READS))
def test_record_change_page_get_per_role(client, cast, tree, who, page, village):
    record = _records(tree, "children")[village]
    client.force_login(cast[who])
    response = client.get(_url(page, "children", record))
    assert response.status_code == _change_status(who, village)


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("village", [A, C])
@pytest.mark.parametrize("who", sorted(READS))
def test_record_edit_post_per_role(client, cast, tree, who, village, slug):
    record = _records(tree, slug)[village]
    before = _snapshot(record)
    user = cast[who]
    client.force_login(user)
    data = form_data(record, user, name="改名")
    response = client.post(_url("record_edit", slug, record), data)
    expected = _change_status(who, village)
    if expected == 200:
        assert response.status_code == 302
        assert response["Location"] == _url("record_detail", slug, record)
        assert _snapshot(record) == ("改名", before[1], before[2], 2)
    else:
        assert response.status_code == expected
        assert _snapshot(record) == before


@pytest.mark.parametrize("village", [A, C])
@pytest.mark.parametrize("who", sorted(READS))
def test_record_status_post_per_role(client, cast, tree, who, village):
    record = _records(tree, "children")[village]
    before = _snapshot(record)
    client.force_login(cast[who])
    response = client.post(_url("record_status", "children", record), _exit_data(record))
    expected = _change_status(who, village)
    if expected == 200:
        assert response.status_code == 302
        assert _snapshot(record) == (before[0], before[1], RecordStatus.EXITED, 2)
    else:
        assert response.status_code == expected
        assert _snapshot(record) == before


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("who", sorted(READS))
def test_record_create_per_role(client, cast, tree, who, slug):
    client.force_login(cast[who])
    url = _url("record_create", slug)
    village = tree[HOME_VILLAGE.get(who, A)]
    data = POST_DATA[slug](village)
    get, post = client.get(url), client.post(url, data)
    created = MODELS[slug].objects.filter(id_number=data["id_number"])
    if who in EDITORS:
        assert get.status_code == 200
        assert post.status_code == 302
        record = created.get()
        assert post["Location"] == _url("record_detail", slug, record)
        assert (record.village, record.created_by) == (village, cast[who])
    else:
        assert get.status_code == post.status_code == 404
        assert not created.exists()
        assert not IdentityClaim.objects.filter(id_number=data["id_number"]).exists()


# --- methods -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("page", ["record_list", "record_create", *RECORD_PAGES])
def test_record_page_refuses_other_methods(client, cast, tree, page, method):
    record = _records(tree, "children")[A]
    client.force_login(cast["cadre_a"])
    response = getattr(client, method)(_url(page, "children", record))
    assert response.status_code == 405
    assert _snapshot(record) == (record.name, record.village_id, RecordStatus.ACTIVE, 1)


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("page", GET_ONLY_PAGES)
@pytest.mark.parametrize("who", sorted(READS))
def test_record_read_page_refuses_post(client, cast, tree, who, page, slug):
    record = _records(tree, slug)[A]
    client.force_login(cast[who])
    response = client.post(_url(page, slug, record), {"name": "改名"})
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert _snapshot(record)[0] == record.name


@pytest.mark.parametrize("page", GET_ONLY_PAGES)
def test_record_read_page_refuses_post_from_anonymous(client, tree, page):
    record = _records(tree, "children")[A]
    assert client.post(_url(page, "children", record)).status_code == 405


# --- outsiders -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", RECORD_PAGES)
def test_record_out_of_scope_looks_like_missing(client, cast, tree, page):
    record = _records(tree, "children")[C]
    client.force_login(cast["cadre_a"])
    outside = client.get(_url(page, "children", record))
    missing = client.get(_url(page, "children", record.pk + 1000))
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content


@pytest.mark.parametrize("slug", sorted(FACTORIES))
def test_record_pk_in_url_never_reaches_another_region(client, cast, tree, slug):
    others = [FACTORIES[slug](village=tree[code]) for code in (B, OTHER_TOWNSHIP, C, OTHER_COUNTY)]
    before = [_snapshot(record) for record in others]
    client.force_login(cast["cadre_a"])
    for record in others:
        for page in RECORD_PAGES:
            assert client.get(_url(page, slug, record)).status_code == 404
        data = form_data(record, cast["cadre_a"], name="改名")
        assert client.post(_url("record_edit", slug, record), data).status_code == 404
        assert client.post(_url("record_status", slug, record), _exit_data(record)).status_code == 404
    assert [_snapshot(record) for record in others] == before


def test_record_cadre_cannot_move_a_record_to_another_village(client, cast, tree):
    record = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    data = form_data(record, cast["cadre_a"], village=tree[B].pk, name="改名")
    response = client.post(_url("record_edit", "children", record), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"village": [INVALID_CHOICE]}
    assert _snapshot(record) == (record.name, tree[A].pk, RecordStatus.ACTIVE, 1)
    claim = IdentityClaim.objects.get(id_number=record.id_number)
    assert claim.village == tree[A]


def test_record_cadre_cannot_create_in_another_village(client, cast, tree):
    client.force_login(cast["cadre_a"])
    data = child_post_data(tree[B])
    response = client.post(_url("record_create", "children"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"village": [INVALID_CHOICE]}
    assert Child.objects.count() == 0
    assert IdentityClaim.objects.count() == 0


def test_record_township_reviewer_moves_a_record_inside_the_township(client, cast, tree):
    record = ChildFactory(village=tree[A])
    client.force_login(cast["township"])
    data = form_data(record, cast["township"], village=tree[B].pk)
    response = client.post(_url("record_edit", "children", record), data)
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.village, record.village_code, record.version) == (tree[B], B, 2)
    assert IdentityClaim.objects.get(id_number=record.id_number).village == tree[B]
    # Village A's cadre no longer reaches it; village B's does.
    client.force_login(cast["cadre_a"])
    assert client.get(_url("record_detail", "children", record)).status_code == 404
    client.force_login(cast["cadre_b"])
    assert client.get(_url("record_detail", "children", record)).status_code == 200
