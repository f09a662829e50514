"""Region pages: scoped, 404 outside the scope, GET only, constant query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import RegionLevel
from survey import services
from tests.factories import RegionFactory


def _url(code):
    return reverse("region_detail", args=[code])


def test_region_page_requires_login(client, tree):
    response = client.get(_url("410922000000"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [
        ("cadre_a", "410922100201", 200),
        ("cadre_a", "410922100202", 404),
        ("cadre_a", "410922100000", 404),
        ("township", "410922100000", 200),
        ("township", "410922101000", 404),
        ("county", "410922000000", 200),
        ("county", "410923000000", 404),
        ("city", "410923100202", 200),
        ("supervisor", "410923000000", 200),
        ("supervisor", "410922000000", 404),
        ("sysadmin", "410922100201", 200),
        ("city", "999999999999", 404),
    ],
)
def test_region_page_scope(client, cast, who, code, status):
    client.force_login(cast[who])
    assert client.get(_url(code)).status_code == status


def test_out_of_scope_and_missing_look_the_same(client, cast):
    client.force_login(cast["cadre_a"])
    other = client.get(_url("410923100201"))
    missing = client.get(_url("410999999999"))
    assert other.status_code == missing.status_code == 404
    assert "县2" not in other.content.decode()


def test_region_pages_refuse_post(client, cast):
    client.force_login(cast["city"])
    assert client.post(_url("410922000000")).status_code == 405
    assert client.post(reverse("region_root")).status_code == 405


def test_region_root_redirects_to_the_single_scope(client, cast):
    client.force_login(cast["county"])
    response = client.get(reverse("region_root"))
    assert response.status_code == 302
    assert response["Location"] == _url("410922000000")


def test_region_page_lists_children_with_village_counts(client, cast):
    client.force_login(cast["county"])
    response = client.get(_url("410922000000"))
    children = response.context["children"]
    assert [(c.name, c.village_count) for c in children] == [("县1镇1", 2), ("县1镇2", 2)]
    assert [a.name for a in response.context["ancestors"]] == []  # the city is outside a county's view


def test_breadcrumb_shows_visible_ancestors(client, cast):
    client.force_login(cast["city"])
    response = client.get(_url("410922100201"))
    assert [a.name for a in response.context["ancestors"]] == ["濮阳市", "县1", "县1镇1"]


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("url_name", ["region_detail", "home"])
def test_query_count_does_not_grow_with_villages(client, cast, tree, url_name):
    client.force_login(cast["city"])
    url = _url("410900000000") if url_name == "region_detail" else reverse("home")
    few = _queries(client, url)
    township = tree["410922100"]
    for n in range(300, 340):
        RegionFactory(code=f"410922100{n}", name=f"新村{n}", level=RegionLevel.VILLAGE, parent=township)
    for n in range(2, 6):
        RegionFactory(
            code=f"41092{n + 4}000000", name=f"新县{n}", level=RegionLevel.COUNTY, parent=tree["4109"]
        )
    assert _queries(client, url) == few


# --- 村数 on a township's home, and 区划与进度 during a campaign (issue 14 item 14) --------------


def _scope_headings(html):
    """The header cells of the home page's scope table."""
    table = html[html.index("管辖范围") :]
    return re.findall(r"<th[^>]*>([^<]*)</th>", table[: table.index("</thead>")])


def test_township_home_lists_its_villages_without_a_village_count_of_one(client, cast):
    client.force_login(cast["township"])
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert _scope_headings(html) == ["区划", "代码"]
    root, villages = response.context["scopes"][0]
    assert (root.name, root.village_count, [v.name for v in villages]) == (
        "县1镇1",
        2,
        ["县1镇1村1", "县1镇1村2"],
    )
    assert html.count("乡镇（街道） · 2 个村（社区）") == 1


def test_county_home_counts_the_villages_of_each_township(client, cast):
    client.force_login(cast["county"])
    response = client.get(reverse("home"))
    assert _scope_headings(response.content.decode()) == ["区划", "代码", "村（社区）数"]
    root, townships = response.context["scopes"][0]
    assert (root.village_count, [(t.name, t.village_count) for t in townships]) == (
        4,
        [("县1镇1", 2), ("县1镇2", 2)],
    )


def test_region_root_leads_to_the_running_campaigns_progress(client, cast, campaign):
    client.force_login(cast["county"])
    response = client.get(reverse("region_root"))
    assert response["Location"] == reverse("survey_progress_current", args=["410922000000"])
    response = client.get(response["Location"])
    assert response["Location"] == reverse("survey_progress_region", args=[campaign.pk, "410922000000"])
    page = client.get(response["Location"])
    assert [
        (p.region.name, p.total, p.reported, p.approved, p.overdue, p.completion)
        for p in page.context["rows"]
    ] == [
        ("县1镇1", 2, 0, 0, 0, 0.0),
        ("县1镇2", 2, 0, 0, 0, 0.0),
    ]


def test_region_page_links_each_region_to_its_progress_while_a_campaign_runs(client, cast, campaign):
    client.force_login(cast["sysadmin"])  # reads no records, follows no campaign
    assert (
        re.findall(r'href="(/survey/progress/[0-9]+/)"', client.get(_url("410922000000")).content.decode())
        == []
    )
    client.force_login(cast["county"])
    html = client.get(_url("410922000000")).content.decode()
    assert re.findall(r'href="(/survey/progress/[0-9]+/)"', html) == [
        reverse("survey_progress_current", args=["410922000000"]),
        reverse("survey_progress_current", args=["410922100000"]),
        reverse("survey_progress_current", args=["410922101000"]),
    ]
    services.campaign_close(user=cast["city"], campaign=campaign)
    assert client.get(reverse("region_root"))["Location"] == _url("410922000000")
    assert (
        re.findall(r'href="(/survey/progress/[0-9]+/)"', client.get(_url("410922000000")).content.decode())
        == []
    )


def test_current_progress_is_404_without_a_campaign_and_outside_the_scope(client, cast, campaign):
    client.force_login(cast["county"])
    outside = client.get(reverse("survey_progress_current", args=["410923000000"]), follow=True)
    assert outside.status_code == 404
    assert client.post(reverse("survey_progress_current", args=["410922000000"])).status_code == 405
    services.campaign_close(user=cast["city"], campaign=campaign)
    assert client.get(reverse("survey_progress_current", args=["410922000000"])).status_code == 404


@pytest.mark.parametrize("who", ["city", "county", "township"])
def test_region_page_queries_do_not_grow_while_a_campaign_runs(client, cast, tree, campaign, who):
    client.force_login(cast[who])
    url = _url(cast[who].region.code)
    few = _queries(client, url)
    township = tree["410922100"]
    for n in range(300, 330):
        RegionFactory(code=f"410922100{n}", name=f"新村{n}", level=RegionLevel.VILLAGE, parent=township)
    for n in range(4, 9):
        RegionFactory(code=f"41092{n}000000", name=f"新县{n}", level=RegionLevel.COUNTY, parent=tree["4109"])
    assert _queries(client, url) == few
