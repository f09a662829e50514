"""Campaign, return and progress pages: scope, methods, actions, numbers and query counts."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from registry.models import Child, RegionLevel
from survey import services
from survey.duplicates import duplicate_groups
from survey.models import Campaign, ReturnState, VillageReturn
from survey.progress import timeline
from tests.factories import RegionFactory, make_child, make_elder, make_woman

A, B, C = "410922100201", "410922100202", "410923100201"


def _ret(campaign, code):
    return VillageReturn.objects.get(campaign=campaign, village__code=code)


def _action(client, ret, action, **data):
    return client.post(reverse("survey_return_action", args=[ret.pk, action]), data)


def test_city_office_creates_and_starts_a_campaign(client, cast, tree):
    client.force_login(cast["city"])
    response = client.post(
        reverse("campaign_list"),
        {
            "name": "2023年摸底排查",
            "reference_date": "2023-07-31",
            "start_date": "2023-08-01",
            "deadline": "2023-09-30",
            "categories": ["child", "woman"],
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.screens_elders) == ("draft", False)
    assert client.post(reverse("campaign_start", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    assert VillageReturn.objects.filter(campaign=campaign).count() == 8


def test_campaign_form_errors_are_shown(client, cast):
    client.force_login(cast["city"])
    response = client.post(reverse("campaign_list"), {"name": "", "categories": []})
    assert response.status_code == 200
    assert Campaign.objects.count() == 0
    assert response.context["form"].errors["name"] == ["这个字段是必填项。"]


@pytest.mark.parametrize("who", ["county", "township", "cadre_a"])
def test_others_cannot_create_campaigns(client, cast, who):
    client.force_login(cast[who])
    response = client.post(reverse("campaign_list"), {"name": "x"})
    assert response.status_code == 404
    assert Campaign.objects.count() == 0


def test_campaign_pages_refuse_the_wrong_method(client, cast, campaign):
    client.force_login(cast["city"])
    assert client.get(reverse("campaign_start", args=[campaign.pk])).status_code == 405
    assert client.post(reverse("survey_progress", args=[campaign.pk])).status_code == 405
    assert (
        client.get(reverse("survey_return_action", args=[_ret(campaign, A).pk, "submit"])).status_code == 405
    )
    assert client.delete(reverse("campaign_list")).status_code == 405


def test_anonymous_users_go_to_login(client, campaign):
    for url in (reverse("campaign_list"), reverse("survey_return", args=[_ret(campaign, A).pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [
        ("cadre_a", A, 200),
        ("cadre_a", B, 404),
        ("township", B, 200),
        ("township", C, 404),
        ("county", C, 404),
    ],
)
def test_return_page_scope(client, cast, campaign, who, code, status):
    client.force_login(cast[who])
    assert client.get(reverse("survey_return", args=[_ret(campaign, code).pk])).status_code == status


def test_out_of_scope_actions_are_404_and_change_nothing(client, cast, campaign):
    client.force_login(cast["cadre_b"])
    assert _action(client, _ret(campaign, A), "submit_zero").status_code == 404
    assert _ret(campaign, A).state == ReturnState.NOT_STARTED


def test_cadre_submits_and_township_returns_then_approves(client, cast, tree, campaign):
    make_child(tree[A])
    ret = _ret(campaign, A)
    client.force_login(cast["cadre_a"])
    assert _action(client, ret, "submit").status_code == 302
    assert _ret(campaign, A).state == ReturnState.SUBMITTED

    client.force_login(cast["township"])
    response = _action(client, ret, "send_back", reason="")
    assert _ret(campaign, A).state == ReturnState.SUBMITTED
    assert [m.message for m in response.wsgi_request._messages][-1] == "退回必须填写原因。"
    _action(client, ret, "send_back", reason="监护人电话缺失")
    assert (_ret(campaign, A).state, _ret(campaign, A).last_reason) == (
        ReturnState.IN_PROGRESS,
        "监护人电话缺失",
    )

    client.force_login(cast["cadre_a"])
    home = client.get(reverse("home")).content.decode()
    assert "被退回：监护人电话缺失" in home
    _action(client, ret, "submit")
    client.force_login(cast["township"])
    _action(client, ret, "approve")
    assert _ret(campaign, A).state == ReturnState.TOWNSHIP_APPROVED


def test_zero_return_through_the_page(client, cast, campaign):
    client.force_login(cast["cadre_b"])
    _action(client, _ret(campaign, B), "submit_zero")
    ret = _ret(campaign, B)
    assert (ret.state, ret.is_zero_return) == (ReturnState.SUBMITTED, True)
    page = client.get(reverse("survey_return", args=[ret.pk])).content.decode()
    assert "零报告" in page


def test_next_parameter_cannot_redirect_elsewhere(client, cast, campaign):
    client.force_login(cast["cadre_a"])
    response = _action(client, _ret(campaign, A), "start", next="https://evil.example.com/")
    assert response["Location"] == reverse("survey_return", args=[_ret(campaign, A).pk])


def test_progress_numbers_add_up(client, cast, tree, campaign):
    make_child(tree[A])
    make_child(tree[A])
    make_woman(tree[C])
    services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    services.village_return_submit(user=cast["cadre_b"], village_return=_ret(campaign, B), zero=True)
    services.village_return_approve(user=cast["township"], village_return=_ret(campaign, B))
    client.force_login(cast["city"])
    response = client.get(reverse("survey_progress", args=[campaign.pk]))
    whole, rows = response.context["whole"], response.context["rows"]
    assert (whole.total, whole.reported, whole.approved, whole.completion) == (8, 2, 1, 12.5)
    assert whole.records == {"child": 2, "woman": 1}
    county1, county2 = rows
    assert (county1.total, county1.states["submitted"], county1.approved, county1.records) == (
        4,
        1,
        1,
        {"child": 2},
    )
    assert (county2.total, county2.reported, county2.records) == (4, 0, {"woman": 1})
    for field in ("total", "reported", "approved", "overdue"):
        assert getattr(whole, field) == sum(getattr(r, field) for r in rows)
    bars = response.context["bars"]["bars"]
    assert [(b["label"], b["completion"]) for b in bars] == [("县1", 25.0), ("县2", 0.0)]
    assert response.context["lines"]["total"] == 8
    assert response.content.decode().count("<polyline") == 2


def test_timeline_counts_first_submissions_and_approvals_per_day(cast, campaign):
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A), zero=True)
    ret = services.village_return_send_back(user=cast["township"], village_return=ret, reason="核实")
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=ret, zero=True)
    services.village_return_approve(user=cast["township"], village_return=ret)
    today = timezone.localdate()
    Campaign.objects.filter(pk=campaign.pk).update(start_date=today - timedelta(days=2))
    campaign.refresh_from_db()
    assert timeline(campaign, campaign.region) == [
        (today - timedelta(days=2), 0, 0),
        (today - timedelta(days=1), 0, 0),
        (today, 1, 1),
    ]


def test_progress_drills_down_to_villages(client, cast, tree, campaign):
    client.force_login(cast["county"])
    response = client.get(reverse("survey_progress", args=[campaign.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("survey_progress_region", args=[campaign.pk, "410922000000"])
    township = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922100000"]))
    assert [r.village_return.village.code for r in township.context["rows"]] == [A, B]
    assert (
        client.get(reverse("survey_progress_region", args=[campaign.pk, "410923000000"])).status_code == 404
    )


def test_overdue_villages_are_counted_after_the_deadline(client, cast, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    client.force_login(cast["county"])
    response = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922000000"]))
    assert response.context["whole"].overdue == 4
    assert "逾期未报的村（社区）" in client.get(reverse("home")).content.decode()


def test_county_signs_off_a_township_from_the_progress_page(client, cast, tree, campaign):
    for code, cadre in ((A, "cadre_a"), (B, "cadre_b")):
        services.village_return_submit(user=cast[cadre], village_return=_ret(campaign, code), zero=True)
        services.village_return_approve(user=cast["township"], village_return=_ret(campaign, code))
    client.force_login(cast["county"])
    assert [t.code for t in client.get(reverse("home")).context["inbox"]["to_sign_off"]] == ["410922100000"]
    response = client.post(reverse("survey_sign_off", args=[campaign.pk, "410922100000"]))
    assert response.status_code == 302
    assert set(VillageReturn.objects.in_region(tree["410922100"]).values_list("state", flat=True)) == {
        ReturnState.COUNTY_APPROVED
    }


def test_township_home_lists_returns_awaiting_review(client, cast, campaign):
    services.village_return_submit(user=cast["cadre_b"], village_return=_ret(campaign, B), zero=True)
    client.force_login(cast["township"])
    inbox = client.get(reverse("home")).context["inbox"]
    assert [r.village.code for r in inbox["to_review"]] == [B]


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("city", lambda c: reverse("survey_progress_region", args=[c.pk, "410900000000"])),
        ("county", lambda c: reverse("survey_progress_region", args=[c.pk, "410922000000"])),
        ("township", lambda c: reverse("survey_progress_region", args=[c.pk, "410922100000"])),
        ("township", lambda c: reverse("home")),
        ("county", lambda c: reverse("home")),
        ("city", lambda c: reverse("campaign_list")),
    ],
)
def test_dashboard_queries_do_not_grow(client, cast, tree, campaign, who, url):
    client.force_login(cast[who])
    few = _queries(client, url(campaign))
    township = tree["410922100"]
    for n in range(300, 330):
        village = RegionFactory(
            code=f"410922100{n}", name=f"新村{n}", level=RegionLevel.VILLAGE, parent=township
        )
        services.village_return_for(campaign, village)
        make_child(village)
        make_woman(village)
    VillageReturn.objects.filter(village_code__startswith="4109221003").update(state=ReturnState.SUBMITTED)
    assert _queries(client, url(campaign)) == few


def test_progress_page_title_is_plain_text(client, cast, campaign):
    client.force_login(cast["city"])
    body = client.get(reverse("survey_progress_region", args=[campaign.pk, "410900000000"])).content.decode()
    title = body[body.index("<title>") + 7 : body.index("</title>")]
    assert title == "濮阳市 · 进度 · 留守儿童关爱保护信息平台"
    assert body.count("留守儿童分类统计") == 1


def test_duplicate_suspects_load_after_the_page(client, cast, tree, campaign):
    first = make_child(tree[A], name="王小二")
    make_child(tree[B], name="王小二", birth_date=first.birth_date)
    client.force_login(cast["county"])
    page = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922000000"])).content.decode()
    url = reverse("survey_duplicates", args=[campaign.pk, "410922000000"])
    assert f'hx-get="{url}"' in page
    assert client.get(url).content.decode() == "<strong>2</strong>"
    assert client.get(reverse("survey_duplicates", args=[campaign.pk, "410923000000"])).status_code == 404


def test_a_deadline_before_the_start_is_refused_in_plain_chinese(client, cast):
    client.force_login(cast["city"])
    response = client.post(
        reverse("campaign_list"),
        {
            "name": "2023年摸底排查",
            "reference_date": "2023-07-31",
            "start_date": "2023-09-01",
            "deadline": "2023-08-01",
            "categories": ["child"],
        },
    )
    assert response.context["form"].non_field_errors() == ["截止日期不能早于开始日期。"]
    assert Campaign.objects.count() == 0


# --- the trend line: one point per day (issue 14 item 19) ---------------------------------------


def _on(campaign, code, day, *actions):
    """The return of village ``code`` first submitted (and approved) on ``day`` at noon."""
    ret = _ret(campaign, code)
    cadre = {A: "cadre_a", B: "cadre_b"}[code]
    ret = services.village_return_submit(user=campaign.cast[cadre], village_return=ret, zero=True)
    if "approve" in actions:
        services.village_return_approve(user=campaign.cast["township"], village_return=ret)
    ret.events.update(at=timezone.make_aware(datetime.combine(day, time(12))))


def _dated_campaign(campaign, cast, start, deadline):
    Campaign.objects.filter(pk=campaign.pk).update(start_date=start, deadline=deadline)
    campaign.refresh_from_db()
    campaign.cast = cast
    return campaign


def test_timeline_runs_flat_over_days_when_nothing_happened(cast, campaign):
    today = timezone.localdate()
    campaign = _dated_campaign(campaign, cast, today - timedelta(days=5), today + timedelta(days=10))
    _on(campaign, A, today - timedelta(days=4), "approve")
    _on(campaign, B, today - timedelta(days=1))
    assert timeline(campaign, campaign.region) == [
        (today - timedelta(days=5), 0, 0),
        (today - timedelta(days=4), 1, 1),
        (today - timedelta(days=3), 1, 1),
        (today - timedelta(days=2), 1, 1),
        (today - timedelta(days=1), 2, 1),
        (today, 2, 1),
    ]


def test_timeline_stops_at_the_deadline_unless_a_village_reported_later(cast, campaign):
    today = timezone.localdate()
    campaign = _dated_campaign(campaign, cast, today - timedelta(days=10), today - timedelta(days=7))
    assert [day for day, _, _ in timeline(campaign, campaign.region)] == [
        today - timedelta(days=n) for n in (10, 9, 8, 7)
    ]
    _on(campaign, A, today - timedelta(days=5))
    assert timeline(campaign, campaign.region)[-3:] == [
        (today - timedelta(days=7), 0, 0),
        (today - timedelta(days=6), 0, 0),
        (today - timedelta(days=5), 1, 0),
    ]


def test_timeline_is_one_query_for_any_number_of_days(cast, campaign):
    today = timezone.localdate()
    campaign = _dated_campaign(campaign, cast, today - timedelta(days=400), today)
    _on(campaign, A, today - timedelta(days=300), "approve")
    region = campaign.region
    with CaptureQueriesContext(connection) as ctx:
        points = timeline(campaign, region)
    assert (len(ctx), len(points), points[-1]) == (1, 401, (today, 1, 1))


def test_timeline_chart_draws_a_point_per_day(client, cast, campaign):
    today = timezone.localdate()
    campaign = _dated_campaign(campaign, cast, today - timedelta(days=20), today + timedelta(days=10))
    _on(campaign, A, today - timedelta(days=10))
    client.force_login(cast["county"])
    lines = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922000000"])).context["lines"]
    submitted = lines["submitted"].split()
    assert (len(submitted), lines["first"], lines["last"]) == (21, today - timedelta(days=20), today)
    # Flat before the day, one step on it, flat after: 0 of 4 villages, then 1 of 4.
    heights = [point.split(",")[1] for point in submitted]
    assert heights == ["170.0"] * 10 + ["130.5"] * 11


# --- the city's home page: the campaign's figures and charts (issue 14 item 20) ----------------


def _summary(html):
    """{label: figure} of the home page's headline cards."""
    section = html[html.index('id="city-board"') :]
    return dict(
        re.findall(
            r'<div class="small text-muted">([^<]+)</div><div class="fs-5[^"]*">([^<]+)</div>', section
        )
    )


def test_city_home_shows_the_campaigns_figures_and_charts(client, cast, tree, campaign):
    make_child(tree[A])
    make_child(tree[A])
    make_woman(tree[C])
    make_elder(tree[C])
    services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    services.village_return_submit(user=cast["cadre_b"], village_return=_ret(campaign, B), zero=True)
    services.village_return_approve(user=cast["township"], village_return=_ret(campaign, B))
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    client.force_login(cast["city"])
    response = client.get(reverse("home"))
    board = response.context["city_board"]
    assert (
        board["whole"].total,
        board["whole"].approved,
        board["whole"].completion,
        board["whole"].overdue,
    ) == (
        8,
        1,
        12.5,
        6,
    )
    assert (board["children"], board["women"], board["elders"]) == (2, 1, 1)
    assert _summary(response.content.decode()) == {
        "完成率": "12.5%",
        "已审核村": "1/8",
        "逾期未报": "6",
        "留守儿童": "2",
        "留守妇女": "1",
        "留守老人": "1",
    }
    assert [(b["label"], b["completion"]) for b in board["bars"]["bars"]] == [("县1", 25.0), ("县2", 0.0)]
    assert board["lines"]["total"] == 8
    body = response.content.decode()
    assert (
        body.count('id="completion-chart"'),
        body.count('id="timeline-chart"'),
        body.count("<polyline"),
    ) == (
        1,
        1,
        2,
    )


def test_city_home_figures_match_the_progress_page(client, cast, tree, campaign):
    make_child(tree[A])
    make_woman(tree[C])
    services.village_return_submit(user=cast["cadre_a"], village_return=_ret(campaign, A))
    client.force_login(cast["city"])
    board = client.get(reverse("home")).context["city_board"]
    page = client.get(reverse("survey_progress_region", args=[campaign.pk, "410900000000"])).context
    whole = page["whole"]
    assert (board["whole"].completion, board["whole"].reported, board["whole"].overdue) == (
        whole.completion,
        whole.reported,
        whole.overdue,
    )
    assert (board["children"], board["women"]) == (whole.records["child"], whole.records["woman"])


@pytest.mark.parametrize("who", ["county", "township", "cadre_a"])
def test_only_the_city_gets_the_city_board(client, cast, campaign, who):
    client.force_login(cast[who])
    response = client.get(reverse("home"))
    assert (response.context["city_board"], response.content.decode().count('id="city-board"')) == (None, 0)


def test_city_home_without_a_running_campaign_has_no_board(client, cast):
    client.force_login(cast["city"])
    response = client.get(reverse("home"))
    assert (response.context["city_board"], response.content.decode().count('id="city-board"')) == (None, 0)


def test_city_home_queries_do_not_grow_with_counties_villages_or_records(client, cast, tree, campaign):
    client.force_login(cast["city"])
    few = _queries(client, reverse("home"))
    for n in range(4, 9):
        county = RegionFactory(
            code=f"41092{n}000000", name=f"新县{n}", level=RegionLevel.COUNTY, parent=tree["4109"]
        )
        township = RegionFactory(
            code=f"41092{n}100000", name=f"新县{n}镇", level=RegionLevel.TOWNSHIP, parent=county
        )
        for v in range(201, 206):
            village = RegionFactory(
                code=f"41092{n}100{v}", name=f"新县{n}村{v}", level=RegionLevel.VILLAGE, parent=township
            )
            services.village_return_for(campaign, village)
            make_child(village)
            make_woman(village)
    VillageReturn.objects.filter(village_code__startswith="4109241").update(state=ReturnState.SUBMITTED)
    response = client.get(reverse("home"))
    assert len(response.context["city_board"]["bars"]["bars"]) == 7
    assert _queries(client, reverse("home")) == few


# --- review leads to the records (issue 14 item 8) ---------------------------------------------


@pytest.mark.parametrize(
    ("who", "code", "other"),
    [
        ("cadre_a", A, B),
        ("township", A, B),
        ("county", A, B),
        ("city", A, B),
        ("liaison", A, B),
        ("supervisor", C, "410923100202"),
    ],
)
def test_return_counts_link_to_the_villages_records(client, cast, tree, campaign, who, code, other):
    children = [make_child(tree[code]).pk, make_child(tree[code]).pk]
    make_child(tree[other])
    woman = make_woman(tree[code]).pk
    make_woman(tree[other])
    client.force_login(cast[who])
    html = client.get(reverse("survey_return", args=[_ret(campaign, code).pk])).content.decode()
    links = dict(
        (url.replace("&amp;", "&"), n)
        for url, n in re.findall(r'<a href="([^"]+)" class="register-link"[^>]*>(\d+)</a>', html)
    )
    village = tree[code]
    query = (
        f"?village={village.pk}"
        if who == "cadre_a"
        else f"?township={village.parent_id}&village={village.pk}"
    )
    assert links == {"/children/" + query: "2", "/women/" + query: "1", "/elders/" + query: "0"}
    listed = {
        kind: sorted(r.pk for r in client.get(url).context["page"].object_list)
        for url, kind in zip(links, "cwe", strict=True)
    }
    assert listed == {"c": sorted(children), "w": [woman], "e": []}


def _twins(village, name, n=2):
    first = make_child(village, name=name)
    return [first] + [make_child(village, name=name, birth_date=first.birth_date) for _ in range(n - 1)]


def test_duplicate_pairs_page_lists_each_pair_with_links(client, cast, tree, campaign):
    wang = _twins(tree[A], "王小二")
    make_child(tree[B], name="王小二", birth_date=wang[0].birth_date, status="exited")  # left the register
    zhao = _twins(tree[B], "赵六", 3)
    make_child(tree[B], name="赵六", birth_date=zhao[0].birth_date.replace(day=1) - timedelta(days=40))
    elsewhere = _twins(tree[C], "王小二")  # the other county
    client.force_login(cast["county"])
    response = client.get(reverse("survey_duplicate_pairs", args=[campaign.pk, "410922000000"]))
    groups = [(name, birth, [r.pk for r in records]) for name, birth, records in response.context["groups"]]
    assert groups == [
        ("王小二", wang[0].birth_date, [r.pk for r in wang]),
        ("赵六", zhao[0].birth_date, [r.pk for r in zhao]),
    ]
    assert (response.context["people"], response.context["more"]) == (5, False)
    html = response.content.decode()
    linked = [int(pk) for pk in re.findall(r'<a href="/children/(\d+)/">', html)]
    assert linked == [r.pk for r in wang + zhao]
    assert (html.count('class="duplicate-group'), elsewhere[0].pk in linked) == (2, False)
    # The count on the progress page is a link to this page, and says the same number.
    progress = client.get(
        reverse("survey_progress_region", args=[campaign.pk, "410922000000"])
    ).content.decode()
    assert re.findall(r'<a href="([^"]+)" id="duplicates-link">', progress) == [
        reverse("survey_duplicate_pairs", args=[campaign.pk, "410922000000"])
    ]
    count = client.get(reverse("survey_duplicates", args=[campaign.pk, "410922000000"])).content.decode()
    assert count == "<strong>5</strong>"


@pytest.mark.parametrize(("who", "code", "status"), [
    ("county", "410923000000", 404),
    ("township", "410922000000", 404),
    ("cadre_a", "410922100202", 404),
    ("sysadmin", "410922000000", 404),
    ("supervisor", "410923000000", 200),
    ("township", "410922100000", 200),
    ("liaison", "410900000000", 200),
])  # fmt: skip
def test_duplicate_pairs_page_scope(client, cast, tree, campaign, who, code, status):
    _twins(tree[A], "王小二")
    client.force_login(cast[who])
    assert client.get(reverse("survey_duplicate_pairs", args=[campaign.pk, code])).status_code == status


def test_duplicate_pairs_page_refuses_the_wrong_method(client, cast, campaign):
    client.force_login(cast["county"])
    assert (
        client.post(reverse("survey_duplicate_pairs", args=[campaign.pk, "410922000000"])).status_code == 405
    )


def test_duplicate_pairs_page_queries_do_not_grow_with_the_pairs(client, cast, tree, campaign):
    _twins(tree[A], "王小二")
    client.force_login(cast["county"])
    url = reverse("survey_duplicate_pairs", args=[campaign.pk, "410922000000"])
    few = _queries(client, url)
    for n in range(12):
        _twins(tree[A if n % 2 else B], f"重名{n}", 2 + n % 3)
    assert len(client.get(url).context["groups"]) == 13
    assert _queries(client, url) == few


def test_duplicate_pairs_page_is_in_the_audit_log(client, cast, tree, campaign):
    _twins(tree[A], "王小二")
    client.force_login(cast["county"])
    client.get(reverse("survey_duplicate_pairs", args=[campaign.pk, "410922000000"]))
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LIST).get()
    assert (event.user, event.row_count, event.detail) == (
        cast["county"],
        2,
        f"疑似重复登记（{tree['410922'].name}，2 人）",
    )


def test_duplicate_pairs_stop_at_the_limit_with_whole_groups(tree):
    first = _twins(tree[A], "王小二")
    _twins(tree[A], "赵六")
    records = Child.objects.in_region(tree["410922"]).active()
    groups, more = duplicate_groups(records, limit=3)
    assert ([(name, [r.pk for r in rs]) for name, _, rs in groups], more) == (
        [("王小二", [r.pk for r in first])],
        True,
    )
    assert (len(duplicate_groups(records, limit=4)[0]), duplicate_groups(records, limit=4)[1]) == (2, False)
