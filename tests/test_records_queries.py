"""Query counts of the record pages and the home page's high-risk panel: the same with 1 record
as with 30 spread over villages, townships and counties (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import records
from registry.choices import GuardianAssessment, GuardianshipType
from tests.factories import ChildFactory, ElderFactory, WomanFactory

VILLAGES = [
    "410922100201",
    "410922100202",
    "410922101201",
    "410922101202",
    "410923100201",
    "410923101202",
]
FACTORIES = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _many(tree, factory, count, **fields):
    return [factory(village=tree[VILLAGES[i % len(VILLAGES)]], **fields) for i in range(count)]


@pytest.mark.parametrize("slug", sorted(FACTORIES))
@pytest.mark.parametrize("who", ["city", "county", "liaison"])
def test_record_list_query_count_does_not_grow(client, cast, tree, who, slug):
    url = reverse("record_list", kwargs={"kind": slug})
    client.force_login(cast[who])
    FACTORIES[slug](village=tree[VILLAGES[0]])
    client.get(url)  # warm caches (content types, session)
    one = _queries(client, url)
    _many(tree, FACTORIES[slug], 29)
    response = client.get(url)
    assert len(response.context["page"].object_list) == 20
    assert _queries(client, url) == one


def test_record_list_query_count_with_filters_does_not_grow(client, cast, tree):
    url = reverse("record_list", kwargs={"kind": "children"}) + "?q=童&risk=&status=all&page=2"
    client.force_login(cast["city"])
    _many(tree, ChildFactory, 21)
    client.get(url)
    one = _queries(client, url)
    _many(tree, ChildFactory, 19)
    assert _queries(client, url) == one


@pytest.mark.parametrize("slug", sorted(FACTORIES))
def test_record_list_print_query_count_does_not_grow(client, cast, tree, slug):
    url = reverse("record_list", kwargs={"kind": slug}) + "?print=1"
    client.force_login(cast["city"])
    FACTORIES[slug](village=tree[VILLAGES[0]])
    client.get(url)
    one = _queries(client, url)
    _many(tree, FACTORIES[slug], 29)
    assert len(client.get(url).context["page"].object_list) == 30
    assert _queries(client, url) == one


def test_record_list_query_count_with_county_and_township_does_not_grow(client, cast, tree):
    url = reverse("record_list", kwargs={"kind": "children"})
    url += f"?county={tree['410922'].pk}&township={tree['410922100'].pk}&page=2"
    client.force_login(cast["city"])
    _many(tree, ChildFactory, 61)
    client.get(url)
    one = _queries(client, url)
    _many(tree, ChildFactory, 60)
    response = client.get(url)
    assert (response.context["page"].number, len(response.context["page"].object_list)) == (2, 20)
    assert _queries(client, url) == one


@pytest.mark.parametrize("slug", sorted(FACTORIES))
def test_record_detail_query_count_does_not_grow(client, cast, tree, slug):
    record = FACTORIES[slug](village=tree[VILLAGES[0]])
    url = reverse("record_detail", kwargs={"kind": slug, "pk": record.pk})
    client.force_login(cast["county"])
    client.get(url)
    one = _queries(client, url)
    _many(tree, FACTORIES[slug], 29)
    assert _queries(client, url) == one


@pytest.mark.parametrize("slug", sorted(FACTORIES))
def test_record_history_query_count_does_not_grow(client, cast, tree, slug):
    """Two history entries (registered, moved village) against thirty (moved back and forth, renamed)."""
    record = FACTORIES[slug](village=tree[VILLAGES[0]], created_by=cast["cadre_a"])
    record = records.record_update(
        record=record, user=cast["township"], data={"village": tree[VILLAGES[1]]}, version=1
    )
    url = reverse("record_history", kwargs={"kind": slug, "pk": record.pk})
    client.force_login(cast["county"])
    client.get(url)
    one = _queries(client, url)
    editors = [cast["cadre_a"], cast["cadre_b"], cast["township"], cast["county"]]
    for i in range(28):
        data = {"name": f"改名{i}"}
        if i % 3:
            data["village"] = tree[VILLAGES[0] if record.village_code == VILLAGES[1] else VILLAGES[1]]
        record = records.record_update(record=record, user=editors[i % 4], data=data, version=record.version)
    response = client.get(url)
    assert len(response.context["entries"]) == 30
    assert _queries(client, url) == one


@pytest.mark.parametrize("who", ["township", "county", "city", "supervisor"])
def test_home_high_risk_panel_query_count_does_not_grow(client, cast, tree, who):
    high_risk = {"guardianship_type": GuardianshipType.NONE, "guardian_assessment": GuardianAssessment.NONE}
    url = reverse("home")
    client.force_login(cast[who])
    first = ChildFactory(village=tree["410922100201" if who != "supervisor" else "410923100201"], **high_risk)
    client.get(url)
    one = _queries(client, url)
    assert client.get(url).context["high_risk"]["items"] == [first]
    _many(tree, ChildFactory, 30, **high_risk)
    response = client.get(url)
    assert len(response.context["high_risk"]["items"]) == 10
    assert _queries(client, url) == one
