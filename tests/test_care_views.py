"""Pages of the care loop (issue 15 items 1, 2 and 7): a child's level and visits, recording and
correcting a visit, a reviewer's override, the boards and the lists behind their numbers, and what
the home page puts first. Each view: in scope, outsider 404, wrong method 405, the right role only,
what is shown; query counts that do not grow with the children; bad input refused in Chinese."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from care.models import ChildCare, LevelOverride, Visit
from registry import records
from registry.choices import GuardianAssessment
from tests.factories import VisitFactory, make_child
from workflow import clock

A, B, C = "410922100201", "410922100202", "410923100201"
TOWNSHIP, COUNTY = "410922100", "410922"


@pytest.fixture
def today():
    return clock.today()


def _due(tree, cast, code=A, **fields):
    """A child of village ``code`` (四级, every 90 days) last visited 85 days ago: due in 5 days."""
    child = make_child(tree[code], **fields)
    VisitFactory(child=child, user=cast["township"] if code != C else cast["cadre_c"], days_ago=85)
    return child


def _overdue(tree, cast, code=A, **fields):
    child = make_child(tree[code], **fields)
    VisitFactory(child=child, user=cast["township"] if code != C else cast["cadre_c"], days_ago=100)
    return child


def _visit_data(day, **overrides):
    data = {
        "visited_on": day.isoformat(),
        "way": "home",
        "met": "儿童本人和祖母",
        "needs": "",
        "next_step": "",
    }
    for area in ("guardianship", "safety", "health", "study", "mind"):
        data[f"{area}_concern"] = "0"
        data[f"{area}_note"] = ""
    return {**data, **overrides}


def _messages(response):
    return [m.message for m in get_messages(response.wsgi_request)]


def _login(client, cast, who):
    client.force_login(cast[who])
    return client


# --- a child's care page ------------------------------------------------------------------------


def test_child_page_shows_level_reasons_clock_and_visits_to_the_cadre(client, cast, tree, today):
    child = _due(tree, cast)
    response = _login(client, cast, "cadre_a").get(reverse("care:child", args=[child.pk]))
    assert response.status_code == 200
    ctx = response.context
    assert (ctx["level"].name, ctx["level"].colour) == ("四级", "green")
    assert [(level.name, text) for level, text in ctx["reasons"]] == [("四级", "未见风险因素")]
    assert (ctx["due_on"], ctx["state"]) == (today + timedelta(days=5), "due")
    assert [v.visited_on for v in ctx["visits"]] == [today - timedelta(days=85)]
    body = response.content.decode()
    assert (body.count('id="record-visit"'), body.count('id="override-link"')) == (1, 0)
    record_url = reverse("record_detail", kwargs={"kind": "children", "pk": child.pk})
    assert body.count(f'href="{record_url}"') == 1
    views = AuditEvent.objects.filter(action="view", object_id=child.pk, user=cast["cadre_a"])
    assert list(views.values_list("object_type", flat=True)) == ["registry.child"]


def test_child_page_reasons_each_name_their_level(client, cast, tree):
    child = make_child(tree[A], guardian_assessment=GuardianAssessment.FAIR)
    response = _login(client, cast, "county").get(reverse("care:child", args=[child.pk]))
    assert response.context["level"].name == "三级"
    assert [(level.name, text) for level, text in response.context["reasons"]] == [("三级", "监护情况一般")]
    body = response.content.decode()
    assert (body.count('id="record-visit"'), body.count('id="override-link"')) == (0, 0)


def test_child_page_gives_the_township_both_buttons(client, cast, tree):
    child = make_child(tree[B])
    body = _login(client, cast, "township").get(reverse("care:child", args=[child.pk])).content.decode()
    assert (body.count('id="record-visit"'), body.count('id="override-link"')) == (1, 1)


@pytest.mark.parametrize("who", ["cadre_b", "cadre_c", "liaison", "sysadmin"])
def test_child_page_of_an_outsider_is_404(client, cast, tree, who):
    child = make_child(tree[A])
    assert _login(client, cast, who).get(reverse("care:child", args=[child.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="view", object_id=child.pk).count() == 0


def test_child_page_wrong_method_is_405(client, cast, tree):
    child = make_child(tree[A])
    assert _login(client, cast, "cadre_a").post(reverse("care:child", args=[child.pk])).status_code == 405


def test_child_page_shows_a_corrected_visit_as_corrected(client, cast, tree, today):
    child = make_child(tree[A])
    old = VisitFactory(child=child, user=cast["cadre_a"], days_ago=3)
    response = _login(client, cast, "cadre_a").post(
        reverse("care:visit_correct", args=[old.pk]),
        {**_visit_data(today - timedelta(days=2)), "reason": "日期记错了"},
    )
    assert (response.status_code, response["Location"]) == (302, reverse("care:child", args=[child.pk]))
    new = Visit.objects.get(corrects=old)
    body = client.get(reverse("care:child", args=[child.pk])).content.decode()
    assert body.count('badge text-bg-secondary">已更正</span>') == 1
    assert body.count("原因：日期记错了") == 2  # on the correction and on the visit it replaces
    assert ChildCare.objects.get(pk=child.pk).last_visit_on == new.visited_on == today - timedelta(days=2)


# --- recording a visit --------------------------------------------------------------------------


def test_visit_form_defaults_to_today_at_home_with_every_area_normal(client, cast, tree, today):
    child = make_child(tree[A])
    response = _login(client, cast, "cadre_a").get(reverse("care:visit_new", args=[child.pk]))
    form = response.context["form"]
    assert (form["visited_on"].value(), form["way"].value(), form["met"].value()) == (
        today,
        "home",
        "儿童本人和监护人",
    )
    assert [concern.value() for _, concern, _ in form.areas()] == ["0"] * 5


def test_a_visit_is_recorded_and_the_cadre_goes_back_where_she_came_from(client, cast, tree, today):
    child = _overdue(tree, cast)
    url = reverse("care:visit_new", args=[child.pk])
    data = _visit_data(today, safety_concern="1", safety_note="独自在河边玩耍", next="/care/regions/x/")
    response = _login(client, cast, "cadre_a").post(url, data)
    assert (response.status_code, response["Location"]) == (302, "/care/regions/x/")
    assert _messages(response) == [f"已记录走访：{today:%Y-%m-%d}"]
    visit = Visit.objects.get(child=child, recorded_by=cast["cadre_a"])
    assert (visit.visited_on, visit.concerns(), visit.safety_note) == (today, ["安全"], "独自在河边玩耍")
    care = ChildCare.objects.get(pk=child.pk)
    assert (care.counted_from, care.computed_rank, care.visit_count) == (today, 2, 2)


def test_a_visit_without_next_goes_home_and_an_outside_next_is_ignored(client, cast, tree, today):
    child = make_child(tree[A])
    response = _login(client, cast, "cadre_a").post(
        reverse("care:visit_new", args=[child.pk]), _visit_data(today, next="https://evil.example/")
    )
    assert (response.status_code, response["Location"]) == (302, reverse("home"))


def test_a_note_shown_as_normal_is_not_kept(client, cast, tree, today):
    child = make_child(tree[A])
    _login(client, cast, "cadre_a").post(
        reverse("care:visit_new", args=[child.pk]), _visit_data(today, health_note="打错的字")
    )
    assert Visit.objects.get(child=child).health_note == ""


def _refused(client, child, data):
    response = client.post(reverse("care:visit_new", args=[child.pk]), data)
    assert response.status_code == 200
    assert Visit.objects.filter(child=child).count() == 0
    return response.context["form"].errors


def test_a_visit_without_a_date_is_refused(client, cast, tree, today):
    child = make_child(tree[A])
    errors = _refused(_login(client, cast, "cadre_a"), child, _visit_data(today, visited_on=""))
    assert errors == {"visited_on": ["请填写走访日期。"]}


def test_a_visit_in_the_future_is_refused(client, cast, tree, today):
    child = make_child(tree[A])
    tomorrow = today + timedelta(days=1)
    errors = _refused(_login(client, cast, "cadre_a"), child, _visit_data(tomorrow))
    assert errors == {"__all__": [f"走访日期不能晚于今天（{today:%Y-%m-%d}）。"]}


def test_a_visit_to_an_exited_child_is_refused(client, cast, tree, today):
    child = make_child(tree[A])
    records.record_exit(
        record=child,
        user=cast["cadre_a"],
        reason="parents_returned",
        date=today,
        note="",
        version=child.version,
    )
    client = _login(client, cast, "cadre_a")
    page = client.get(reverse("care:visit_new", args=[child.pk]))
    assert page.content.decode().count("该儿童已退出台账，不能再记录走访。") == 1
    errors = _refused(client, child, _visit_data(today))
    assert errors == {"__all__": ["该儿童已退出台账，不能再记录走访。"]}


def test_a_concern_without_a_note_is_refused(client, cast, tree, today):
    child = make_child(tree[A])
    errors = _refused(_login(client, cast, "cadre_a"), child, _visit_data(today, mind_concern="1"))
    assert errors == {"mind_note": ["选了“有问题”，请写明心理方面的问题。"]}


def test_the_same_visit_sent_twice_is_recorded_once(client, cast, tree, today):
    child = make_child(tree[A])
    client = _login(client, cast, "cadre_a")
    url = reverse("care:visit_new", args=[child.pk])
    assert client.post(url, _visit_data(today)).status_code == 302
    again = client.post(url, _visit_data(today))
    assert again.context["form"].errors == {
        "__all__": ["这次走访已经记录过了（同一天、同一方式）。如需修改，请在儿童关爱页面更正那条记录。"]
    }
    assert Visit.objects.filter(child=child).count() == 1


@pytest.mark.parametrize(
    ("who", "status"), [("cadre_b", 404), ("liaison", 404), ("county", 403), ("city", 403)]
)
def test_a_visit_by_someone_who_may_not_record_it_is_refused(client, cast, tree, today, who, status):
    child = make_child(tree[A])
    client = _login(client, cast, who)
    url = reverse("care:visit_new", args=[child.pk])
    assert (client.get(url).status_code, client.post(url, _visit_data(today)).status_code) == (status, status)
    assert Visit.objects.filter(child=child).count() == 0


def test_the_township_reviewer_records_a_visit_too(client, cast, tree, today):
    child = make_child(tree[B])
    response = _login(client, cast, "township").post(
        reverse("care:visit_new", args=[child.pk]), _visit_data(today)
    )
    assert response.status_code == 302
    assert list(Visit.objects.filter(child=child).values_list("recorded_by", flat=True)) == [
        cast["township"].pk
    ]


def test_visit_pages_wrong_method_is_405(client, cast, tree):
    child = make_child(tree[A])
    visit = VisitFactory(child=child, user=cast["cadre_a"], days_ago=1)
    client = _login(client, cast, "cadre_a")
    for url in (reverse("care:visit_new", args=[child.pk]), reverse("care:visit_correct", args=[visit.pk])):
        assert client.put(url).status_code == 405


# --- correcting a visit -------------------------------------------------------------------------


def test_the_correction_form_starts_from_the_visit_and_needs_a_reason(client, cast, tree, today):
    child = make_child(tree[A])
    old = VisitFactory(
        child=child, user=cast["cadre_a"], days_ago=4, way="phone", study_concern=True, study_note="逃课"
    )
    client = _login(client, cast, "cadre_a")
    url = reverse("care:visit_correct", args=[old.pk])
    form = client.get(url).context["form"]
    assert (form["way"].value(), form["study_concern"].value(), form["study_note"].value()) == (
        "phone",
        "1",
        "逃课",
    )
    response = client.post(url, _visit_data(today - timedelta(days=4)))
    assert response.context["form"].errors == {"reason": ["请填写更正原因。"]}
    assert Visit.objects.filter(child=child).count() == 1


def test_a_visit_corrected_once_is_not_corrected_again(client, cast, tree, today):
    child = make_child(tree[A])
    old = VisitFactory(child=child, user=cast["cadre_a"], days_ago=4)
    client = _login(client, cast, "cadre_a")
    url = reverse("care:visit_correct", args=[old.pk])
    data = {**_visit_data(today - timedelta(days=3)), "reason": "日期有误"}
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.context["form"].errors == {"__all__": ["这条走访记录已被更正过，请在更正后的记录上修改。"]}
    assert Visit.objects.filter(child=child).count() == 2


@pytest.mark.parametrize(("who", "status"), [("cadre_b", 404), ("liaison", 404), ("county", 403)])
def test_a_correction_by_someone_who_may_not_is_refused(client, cast, tree, today, who, status):
    child = make_child(tree[A])
    old = VisitFactory(child=child, user=cast["cadre_a"], days_ago=4)
    client = _login(client, cast, who)
    url = reverse("care:visit_correct", args=[old.pk])
    data = {**_visit_data(today), "reason": "越权"}
    assert (client.get(url).status_code, client.post(url, data).status_code) == (status, status)
    assert Visit.objects.filter(child=child).count() == 1


# --- a reviewer's override ----------------------------------------------------------------------


def test_the_township_reviewer_raises_a_level_with_a_reason(client, cast, tree, today):
    child = make_child(tree[A])
    until = today + timedelta(days=30)
    client = _login(client, cast, "township")
    url = reverse("care:level_override", args=[child.pk])
    assert client.get(url).context["form"]["rank"].value() == 4
    response = client.post(url, {"rank": "2", "reason": "祖母住院，暂无人照看", "until": until.isoformat()})
    assert (response.status_code, response["Location"]) == (302, reverse("care:child", args=[child.pk]))
    assert _messages(response) == [f"已将风险等级调整为二级，有效至 {until:%Y-%m-%d}。"]
    page = client.get(reverse("care:child", args=[child.pk]))
    assert (page.context["level"].name, page.context["override"].reason) == ("二级", "祖母住院，暂无人照看")
    assert page.content.decode().count(f"从四级调整为二级，有效至 {until:%Y-%m-%d}") == 1
    assert list(LevelOverride.objects.filter(child=child).values_list("rank", "computed_rank")) == [(2, 4)]


def test_an_override_sent_twice_is_kept_once(client, cast, tree, today):
    child = make_child(tree[A])
    client = _login(client, cast, "township")
    url = reverse("care:level_override", args=[child.pk])
    data = {"rank": "1", "reason": "疑似受虐", "until": (today + timedelta(days=7)).isoformat()}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).context["form"].errors == {
        "__all__": ["风险等级已按此调整（同一等级、同一复核日期），无需重复提交。"]
    }
    assert LevelOverride.objects.filter(child=child).count() == 1


def test_an_override_with_a_past_review_date_is_refused(client, cast, tree, today):
    child = make_child(tree[A])
    response = _login(client, cast, "township").post(
        reverse("care:level_override", args=[child.pk]),
        {"rank": "1", "reason": "疑似受虐", "until": today.isoformat()},
    )
    assert response.context["form"].errors == {"__all__": ["下次复核日期应在今天之后、一年之内。"]}
    assert LevelOverride.objects.filter(child=child).count() == 0


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [("cadre_a", A, 403), ("cadre_b", B, 403), ("county", A, 403), ("city", A, 403), ("liaison", A, 404)],
)
def test_only_the_township_reviewer_may_override(client, cast, tree, today, who, code, status):
    child = make_child(tree[code])
    client = _login(client, cast, who)
    url = reverse("care:level_override", args=[child.pk])
    data = {"rank": "1", "reason": "越权", "until": (today + timedelta(days=7)).isoformat()}
    assert (client.get(url).status_code, client.post(url, data).status_code) == (status, status)
    assert LevelOverride.objects.count() == 0


def test_override_of_another_township_is_404(client, cast, tree, today):
    child = make_child(tree[C])
    assert (
        _login(client, cast, "township").get(reverse("care:level_override", args=[child.pk])).status_code
        == 404
    )


# --- boards and lists ---------------------------------------------------------------------------


def test_township_board_counts_each_village(client, cast, tree, today):
    _due(tree, cast, A)
    _overdue(tree, cast, A)
    make_child(tree[A], guardian_assessment=GuardianAssessment.FAIR)
    _overdue(tree, cast, B)
    response = _login(client, cast, "township").get(reverse("care:board", args=[tree[TOWNSHIP].code]))
    whole = response.context["whole"]["counts"]
    assert (whole.children, whole.by_rank, whole.due, whole.overdue, whole.on_schedule) == (
        4,
        {1: 0, 2: 0, 3: 1, 4: 3},
        1,
        2,
        50.0,
    )
    rows = {r["region"].code: r["counts"] for r in response.context["rows"]}
    assert {
        code: (c.children, c.due, c.overdue, c.on_schedule) for code, c in rows.items() if c.children
    } == {
        A: (3, 1, 1, 66.7),
        B: (1, 0, 1, 0.0),
    }
    body = response.content.decode()
    overdue_a = reverse("care:child_list", args=[A]) + "?state=overdue"
    assert body.count(f'href="{overdue_a}"') == 2  # the 逾期 figure and the 按期走访率 behind it


def test_board_on_a_later_day_moves_the_clock(client, cast, tree, today):
    _due(tree, cast, A)
    later = today + timedelta(days=6)
    response = _login(client, cast, "township").get(
        reverse("care:board", args=[TOWNSHIP + "000"]), {"on": later.isoformat()}
    )
    c = response.context["whole"]["counts"]
    assert (response.context["on"], c.due, c.overdue) == (later, 0, 1)
    overdue_a = reverse("care:child_list", args=[A]) + f"?on={later.isoformat()}&amp;state=overdue"
    assert response.content.decode().count(f'href="{overdue_a}"') == 2


def test_a_village_board_lists_its_children(client, cast, tree):
    due = _due(tree, cast, A)
    _due(tree, cast, B)
    response = _login(client, cast, "cadre_a").get(reverse("care:board", args=[A]))
    assert [row.child.pk for row in response.context["children"]] == [due.pk]
    assert response.context["rows"] == []
    assert AuditEvent.objects.filter(action="list", user=cast["cadre_a"]).count() == 1


@pytest.mark.parametrize(("who", "code"), [("cadre_a", B), ("township", "410923100000"), ("liaison", A)])
def test_board_and_list_of_an_outsider_are_404(client, cast, tree, who, code):
    client = _login(client, cast, who)
    assert client.get(reverse("care:board", args=[code])).status_code == 404
    assert client.get(reverse("care:child_list", args=[code])).status_code == 404


def test_board_and_list_wrong_method_is_405(client, cast, tree):
    client = _login(client, cast, "county")
    assert client.post(reverse("care:board", args=[COUNTY + "000000"])).status_code == 405
    assert client.post(reverse("care:child_list", args=[COUNTY + "000000"])).status_code == 405


def test_list_behind_the_overdue_number(client, cast, tree, today):
    overdue = _overdue(tree, cast, A)
    _due(tree, cast, A)
    _overdue(tree, cast, C)
    client = _login(client, cast, "township")
    response = client.get(reverse("care:child_list", args=[TOWNSHIP + "000"]), {"state": "overdue"})
    rows = response.context["children"]
    assert [(r.child.pk, r.state, r.due_on, r.may_record) for r in rows] == [
        (overdue.pk, "overdue", today - timedelta(days=10), True)
    ]
    assert response.context["heading"] == "逾期"
    assert response.content.decode().count(reverse("care:visit_new", args=[overdue.pk])) == 1


def test_list_by_level_and_without_record_links_for_the_county(client, cast, tree):
    fair = make_child(tree[A], guardian_assessment=GuardianAssessment.FAIR)
    make_child(tree[B])
    response = _login(client, cast, "county").get(
        reverse("care:child_list", args=[COUNTY + "000000"]), {"rank": "3"}
    )
    assert [(r.child.pk, r.level.name, r.may_record) for r in response.context["children"]] == [
        (fair.pk, "三级", False)
    ]
    assert response.content.decode().count("记录走访") == 0


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


VILLAGES = [A, B]


@pytest.mark.parametrize(
    ("who", "code", "query"),
    [
        ("county", COUNTY + "000000", ""),
        ("township", TOWNSHIP + "000", ""),
        ("cadre_a", A, ""),
        ("township", TOWNSHIP + "000", "children/?state=overdue"),
        ("county", COUNTY + "000000", "children/?rank=4"),
        ("cadre_a", A, "children/"),
    ],
)
def test_board_and_list_query_count_does_not_grow(client, cast, tree, who, code, query):
    client = _login(client, cast, who)
    url = reverse("care:board", args=[code]) + query
    _overdue(tree, cast, A)
    _queries(client, url)  # the session and the user's region are cached from here on
    one = _queries(client, url)
    for i in range(12):
        (_overdue if i % 2 else _due)(tree, cast, VILLAGES[i % len(VILLAGES)] if code != A else A)
    assert _queries(client, url) == one


# --- the home page ------------------------------------------------------------------------------


def test_cadre_home_opens_on_this_weeks_visits(client, cast, tree, today):
    due, overdue = _due(tree, cast, A), _overdue(tree, cast, A)
    make_child(tree[A])  # visited never, registered today: due in 90 days
    _due(tree, cast, B)
    visited = make_child(tree[A])
    done = VisitFactory(child=visited, user=cast["cadre_a"], days_ago=2)
    response = _login(client, cast, "cadre_a").get(reverse("home"))
    week = response.context["care_week"]
    assert [(label, [r.child.pk for r in rows]) for label, _, rows in week["lists"]] == [
        ("逾期", [overdue.pk]),
        ("本周应访", [due.pk]),
    ]
    assert [v.pk for v in week["done"]] == [done.pk]
    body = response.content.decode()
    assert body.index('id="care-week"') < body.index('id="quick-entry"')
    assert body.count(reverse("care:visit_new", args=[due.pk]) + "?next=/") == 1


def test_county_home_shows_the_care_headline(client, cast, tree):
    _overdue(tree, cast, A)
    _due(tree, cast, C)
    response = _login(client, cast, "county").get(reverse("home"))
    [(region, counts)] = response.context["care_headlines"]
    assert (region.code, counts.children, counts.overdue, counts.due) == (COUNTY + "000000", 1, 1, 0)
    # The headline's link, and the menu's 关爱服务.
    assert response.content.decode().count(reverse("care:board", args=[region.code])) == 2


def test_liaison_home_shows_no_care(client, cast, tree):
    _overdue(tree, cast, A)
    response = _login(client, cast, "liaison").get(reverse("home"))
    assert ("care_week" in response.context, "care_headlines" in response.context) == (False, False)


def test_cadre_home_query_count_is_the_same_for_one_and_many(client, cast, tree):
    client = _login(client, cast, "cadre_a")
    _overdue(tree, cast, A)
    client.get(reverse("home"))
    one = _queries(client, reverse("home"))
    for i in range(10):
        (_overdue if i % 2 else _due)(tree, cast, A)
        VisitFactory(child=make_child(tree[A]), user=cast["cadre_a"], days_ago=1)
    assert _queries(client, reverse("home")) == one


def test_child_page_query_count_does_not_grow(client, cast, tree, today):
    child = make_child(tree[A])
    VisitFactory(child=child, user=cast["cadre_a"], days_ago=30)
    client = _login(client, cast, "township")
    url = reverse("care:child", args=[child.pk])
    client.get(url)
    one = _queries(client, url)
    for day in range(1, 11):
        visit = VisitFactory(child=child, user=cast["cadre_a"], days_ago=day * 2)
        if day % 3 == 0:  # every third visit corrected
            client.post(
                reverse("care:visit_correct", args=[visit.pk]),
                {**_visit_data(today - timedelta(days=day * 2 - 1)), "reason": "日期有误"},
            )
    for rank in (2, 1):
        client.post(
            reverse("care:level_override", args=[child.pk]),
            {"rank": str(rank), "reason": "复核", "until": (today + timedelta(days=rank)).isoformat()},
        )
    response = client.get(url)
    assert (len(response.context["visits"]), len(response.context["overrides"])) == (14, 2)
    assert _queries(client, url) == one


def test_a_bad_day_on_the_board_is_today(client, cast, tree, today):
    response = _login(client, cast, "county").get(
        reverse("care:board", args=[COUNTY + "000000"]), {"on": "昨天"}
    )
    assert (response.status_code, response.context["on"]) == (200, today)
