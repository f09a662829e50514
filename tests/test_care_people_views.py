"""Pages of who visits and of the hotline (issue 15 items 5 and 6): a region's 儿童主任 and
儿童督导员 with the gaps, the appointment form, a township's 督导日志, the hotline's calls and
登记来电. Each view: in scope, outsider 404, wrong method 405, the right role only, what is shown;
query counts that do not grow with the rows; bad input refused in Chinese with nothing written."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from care.models import CareWorker, Case, HotlineCall, ReporterKind, SupervisionDiary
from tests.factories import UserFactory, make_call, make_care_worker, make_child, region_tree
from workflow import clock

A, B, C = "410922100201", "410922100202", "410923100201"
TOWNSHIP, COUNTY = "410922100000", "410922000000"


def _messages(response):
    return [str(m.message) for m in get_messages(response.wsgi_request)]


def _login(client, user):
    client.force_login(user)
    return client


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def operator(tree):
    return UserFactory(username="hotline", role=Role.HOTLINE_OPERATOR, region=tree["4109"])


def _rows(response, key):
    return [
        (row["region"].code, row["worker"].name if row["worker"] else None) for row in response.context[key]
    ]


# --- 儿童主任 and 儿童督导员 ----------------------------------------------------------------------


def test_workers_page_shows_the_named_and_the_gaps_to_the_township(client, cast, tree):
    make_care_worker(tree[A], cast["township"], name="李主任", phone="13800000002")
    response = _login(client, cast["township"]).get(reverse("care:workers", args=[TOWNSHIP]))
    assert response.status_code == 200
    assert (response.context["gaps"], response.context["gap_total"]) == ({"villages": 1, "townships": 1}, 2)
    assert _rows(response, "villages") == [(A, "李主任"), (B, None)]
    assert _rows(response, "townships") == [(TOWNSHIP, None)]
    body = response.content.decode()
    appoint_b = reverse("care:worker_appoint", args=[B])
    # The township names directors (a gap's one tap, a current one's 更换), not its own supervisor.
    assert (body.count(appoint_b), body.count(reverse("care:worker_appoint", args=[A]))) == (1, 1)
    assert body.count(reverse("care:worker_appoint", args=[TOWNSHIP])) == 0
    assert body.count("未指定儿童主任") == 1
    assert [(w.region_code, w.name) for w in response.context["history"]] == [(A, "李主任")]


def test_workers_page_shows_only_the_gaps_when_asked(client, cast, tree):
    make_care_worker(tree[A], cast["township"])
    response = _login(client, cast["county"]).get(reverse("care:workers", args=[COUNTY]), {"gaps": "1"})
    assert _rows(response, "villages") == [
        ("410922100202", None),
        ("410922101201", None),
        ("410922101202", None),
    ]
    assert response.context["gaps"] == {"villages": 3, "townships": 2}


@pytest.mark.parametrize("who", ["cadre_c", "liaison", "sysadmin"])
def test_workers_page_is_404_outside_care_scope(client, cast, tree, who):
    assert _login(client, cast[who]).get(reverse("care:workers", args=[TOWNSHIP])).status_code == 404


def test_workers_page_is_404_to_the_hotline_operator(client, operator):
    assert _login(client, operator).get(reverse("care:workers", args=[COUNTY])).status_code == 404


def test_workers_page_takes_get_only(client, cast):
    assert _login(client, cast["township"]).post(reverse("care:workers", args=[TOWNSHIP])).status_code == 405


def test_township_appoints_a_director_and_the_gap_closes(client, cast, tree):
    client = _login(client, cast["township"])
    back = reverse("care:workers", args=[TOWNSHIP])
    form = client.get(reverse("care:worker_appoint", args=[B]), {"next": back})
    assert (form.status_code, form.context["kind_label"], form.context["back"]) == (200, "儿童主任", back)
    assert [u.username for u in form.context["form"].fields["account"].queryset] == ["cadre_b"]
    response = client.post(
        reverse("care:worker_appoint", args=[B]),
        {"name": "王主任", "phone": "138 0000 0003", "since": clock.today().isoformat(),
         "account": cast["cadre_b"].pk, "next": back},
    )  # fmt: skip
    assert (response.status_code, response["Location"]) == (302, back)
    worker = CareWorker.objects.get(region=tree[B])
    assert (worker.kind, worker.name, worker.phone, worker.user, worker.until) == (
        "director", "王主任", "13800000003", cast["cadre_b"], None
    )  # fmt: skip
    assert _messages(response) == [f"已指定县1镇1村2的儿童主任：王主任（{clock.today():%Y-%m-%d} 起）。"]
    assert client.get(back).context["gaps"] == {"villages": 1, "townships": 1}


def test_a_new_appointment_ends_the_current_term(client, cast, tree):
    old = make_care_worker(tree[A], cast["township"], name="旧主任", days_ago=100)
    response = _login(client, cast["county"]).post(
        reverse("care:worker_appoint", args=[A]), {"name": "新主任", "since": clock.today().isoformat()}
    )
    assert (response.status_code, response["Location"]) == (302, reverse("care:workers", args=[TOWNSHIP]))
    old.refresh_from_db()
    assert old.until == clock.today() - timedelta(days=1)
    assert list(CareWorker.objects.current().filter(region=tree[A]).values_list("name", flat=True)) == [
        "新主任"
    ]


def test_county_appoints_a_supervisor_the_township_may_not(client, cast, tree):
    url = reverse("care:worker_appoint", args=[TOWNSHIP])
    assert _login(client, cast["township"]).post(url, {"name": "赵督导"}).status_code == 403
    response = _login(client, cast["county"]).post(
        url, {"name": "赵督导", "since": clock.today().isoformat()}
    )
    assert response.status_code == 302
    assert list(CareWorker.objects.values_list("kind", "region_code", "name")) == [
        ("supervisor", TOWNSHIP, "赵督导")
    ]


@pytest.mark.parametrize(
    ("who", "status"), [("cadre_a", 403), ("city", 403), ("cadre_c", 404), ("liaison", 404)]
)
def test_appoint_is_refused_to_whoever_may_not(client, cast, tree, who, status):
    response = _login(client, cast[who]).post(
        reverse("care:worker_appoint", args=[A]), {"name": "某人", "since": clock.today().isoformat()}
    )
    assert response.status_code == status
    assert CareWorker.objects.count() == 0


def test_appoint_at_a_county_or_city_is_404(client, cast):
    client = _login(client, cast["county"])
    assert client.get(reverse("care:worker_appoint", args=[COUNTY])).status_code == 404


def test_appoint_takes_get_and_post_only(client, cast):
    assert _login(client, cast["township"]).put(reverse("care:worker_appoint", args=[A])).status_code == 405


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "since": "today"}, "name", "请填写姓名。"),
        ({"name": "钱主任", "since": ""}, "since", "请填写任职日期。"),
        ({"name": "钱主任", "since": "tomorrow"}, None, "任职日期不能晚于今天。"),
        ({"name": "钱主任", "since": "today", "phone": "12345"}, None,
         "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）"),
    ],
)  # fmt: skip
def test_appoint_bad_input_is_refused_on_the_form(client, cast, tree, data, field, message):
    days = {"today": clock.today().isoformat(), "tomorrow": (clock.today() + timedelta(days=1)).isoformat()}
    data = {**data, "since": days.get(data["since"], data["since"])}
    response = _login(client, cast["township"]).post(reverse("care:worker_appoint", args=[A]), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"__all__" if field is None else field: [message]}
    assert form["name"].value() == data["name"]
    assert CareWorker.objects.count() == 0


def test_appoint_before_the_current_holder_is_refused(client, cast, tree):
    make_care_worker(tree[A], cast["township"], name="孙主任", days_ago=10)
    since = clock.today() - timedelta(days=20)
    response = _login(client, cast["township"]).post(
        reverse("care:worker_appoint", args=[A]), {"name": "周主任", "since": since.isoformat()}
    )
    current = clock.today() - timedelta(days=10)
    assert response.context["form"].errors == {
        "__all__": [f"任职日期应晚于现任 孙主任 的任职日期（{current:%Y-%m-%d}）。"]
    }
    assert CareWorker.objects.count() == 1


def test_workers_page_query_count_does_not_grow(client, cast, tree):
    client = _login(client, cast["county"])
    url = reverse("care:workers", args=[COUNTY])
    make_care_worker(tree[A], cast["county"])
    client.get(url)
    one = _queries(client, url)
    for code in ("410922100202", "410922101201", "410922101202"):
        make_care_worker(tree[code], cast["county"], name="主任" + code[-3:], days_ago=40)
        make_care_worker(tree[code], cast["county"], name="新主任" + code[-3:], days_ago=5)
    for code in ("410922100", "410922101"):
        make_care_worker(tree[code], cast["county"], name="督导" + code[-3:])
    assert len(client.get(url).context["history"]) == 9
    assert _queries(client, url) == one


def test_board_links_to_who_visits_with_the_gap_count(client, cast, tree):
    make_care_worker(tree[A], cast["township"])
    response = _login(client, cast["township"]).get(reverse("care:board", args=[TOWNSHIP]))
    assert response.context["worker_gaps"] == 2
    body = response.content.decode()
    assert body.count(f'href="{reverse("care:workers", args=[TOWNSHIP])}">儿童主任/督导员（缺 2）') == 1
    assert body.count(f'id="diary-link" href="{reverse("care:diary", args=[TOWNSHIP])}"') == 1


def test_township_home_links_to_the_diary_and_the_gaps(client, cast, tree):
    response = _login(client, cast["township"]).get(reverse("home"))
    assert (response.context["care_people"]["township"].code, response.context["care_people"]["gaps"]) == (
        TOWNSHIP,
        3,
    )
    body = response.content.decode()
    assert body.count(f'id="home-diary-link" href="{reverse("care:diary", args=[TOWNSHIP])}"') == 1
    assert body.count("儿童主任/督导员（缺 3）") == 1


# --- 督导日志 -----------------------------------------------------------------------------------


def _diary(tree, villages=(A,), month=None, note="入户核查了两户，监护落实。"):
    month = month or clock.today().replace(day=1)
    return {"month": month.strftime("%Y-%m"), "villages": [tree[v].pk for v in villages], "note": note}


def test_township_writes_this_months_diary(client, cast, tree):
    client = _login(client, cast["township"])
    url = reverse("care:diary", args=[TOWNSHIP])
    page = client.get(url)
    assert page.context["form"]["month"].value() == clock.today().replace(day=1)
    assert [c[0] for c in page.context["form"].fields["villages"].choices] == [tree[A].pk, tree[B].pk]
    response = client.post(url, _diary(tree, (A, B)))
    assert (response.status_code, response["Location"]) == (302, url)
    diary = SupervisionDiary.objects.get()
    assert (diary.month, sorted(v.code for v in diary.villages.all()), diary.recorded_by) == (
        clock.today().replace(day=1), [A, B], cast["township"]
    )  # fmt: skip
    assert _messages(response) == [f"已保存 {clock.today():%Y年%m月} 的督导日志（2 个村）。"]
    again = client.get(url)
    assert [d.pk for d in again.context["page"].object_list] == [diary.pk]
    # The month already written opens with what it says.
    assert (again.context["form"]["note"].value(), again.context["form"]["villages"].value()) == (
        "入户核查了两户，监护落实。",
        [tree[A].pk, tree[B].pk],
    )


def test_county_reads_the_diary_but_may_not_write(client, cast, tree):
    client = _login(client, cast["county"])
    url = reverse("care:diary", args=[TOWNSHIP])
    response = client.get(url)
    assert (response.status_code, response.context["form"]) == (200, None)
    assert client.post(url, _diary(tree)).status_code == 403
    assert SupervisionDiary.objects.count() == 0


@pytest.mark.parametrize("who", ["cadre_c", "liaison"])
def test_diary_is_404_outside_care_scope(client, cast, tree, who):
    client = _login(client, cast[who])
    assert client.get(reverse("care:diary", args=[TOWNSHIP])).status_code == 404
    assert client.post(reverse("care:diary", args=[TOWNSHIP]), _diary(tree)).status_code == 404


def test_diary_of_a_village_or_county_is_404(client, cast):
    client = _login(client, cast["county"])
    assert client.get(reverse("care:diary", args=[A])).status_code == 404
    assert client.get(reverse("care:diary", args=[COUNTY])).status_code == 404


def test_diary_takes_get_and_post_only(client, cast):
    assert _login(client, cast["township"]).delete(reverse("care:diary", args=[TOWNSHIP])).status_code == 405


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"villages": []}, "villages", "请选择本月督导过的村（社区）。"),
        ({"note": ""}, "note", "请写明督导情况。"),
        ({"month": "五月"}, "month", "月份应形如 2024-05。"),
        ({"month": "next"}, None, "不能为以后的月份写督导日志。"),
        ({"villages": "other"}, "villages", "只能选择本乡镇的村（社区）。"),
    ],
)
def test_diary_bad_input_is_refused_on_the_form(client, cast, tree, change, field, message):
    data = {**_diary(tree), **change}
    if data["month"] == "next":
        data["month"] = (clock.today().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    if data["villages"] == "other":
        data["villages"] = [tree[C].pk]
    response = _login(client, cast["township"]).post(reverse("care:diary", args=[TOWNSHIP]), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__" if field is None else field: [message]}
    assert SupervisionDiary.objects.count() == 0


# --- the hotline ------------------------------------------------------------------------------


def test_operator_sees_the_calls_newest_first_with_callback_numbers(client, operator, tree):
    old = make_call(operator, tree["4109"], minutes_ago=60, callback_number="13900000001")
    new = make_call(operator, tree[A], minutes_ago=5, callback_number="13900000002")
    response = _login(client, operator).get(reverse("care:hotline"))
    assert [c.pk for c in response.context["calls"]] == [new.pk, old.pk]
    body = response.content.decode()
    assert (body.count("13900000001"), body.count("13900000002")) == (2, 2)  # the text and the tel: link


@pytest.mark.parametrize(
    "who", ["cadre_a", "township", "county", "city", "supervisor", "liaison", "sysadmin"]
)
def test_hotline_pages_are_404_to_everyone_but_operators(client, cast, who):
    client = _login(client, cast[who])
    assert client.get(reverse("care:hotline")).status_code == 404
    assert client.get(reverse("care:hotline_new")).status_code == 404
    assert client.post(reverse("care:hotline_new") + "?step=call", {"summary": "x"}).status_code == 404


def test_hotline_pages_wrong_method_is_405(client, operator):
    client = _login(client, operator)
    assert client.post(reverse("care:hotline")).status_code == 405
    assert client.put(reverse("care:hotline_new")).status_code == 405


def test_calls_list_query_count_does_not_grow(client, operator, tree):
    client = _login(client, operator)
    url = reverse("care:hotline")
    make_call(operator, tree[A], callback_number="13900000001")
    client.get(url)
    one = _queries(client, url)
    child = make_child(tree[B])
    for i in range(6):
        make_call(operator, tree[B], minutes_ago=10 + i)
        make_call(operator, tree[B], outcome="report", kind="unsupervised", child=child, minutes_ago=20 + i)
    make_call(operator, tree[A], outcome="report", kind="other", provisional_name="小明", minutes_ago=30)
    assert len(client.get(url).context["calls"]) == 14
    assert _queries(client, url) == one


def test_find_a_child_by_id_number(client, operator, tree):
    child = make_child(tree[B], name="刘小红")
    make_child(tree[A], name="刘小红")
    response = _login(client, operator).get(reverse("care:hotline_new"), {"id_number": child.id_number})
    assert [c.pk for c in response.context["children"]] == [child.pk]
    assert response.content.decode().count(f'href="?child={child.pk}"') == 1


def test_find_a_village_then_a_child_by_name(client, operator, tree):
    child = make_child(tree[B], name="陈小军")
    make_child(tree[A], name="陈小军")
    client = _login(client, operator)
    places = client.get(reverse("care:hotline_new"), {"place": "镇1村2"}).context["places"]
    assert [v.code for v in places] == [B, "410923100202"]
    found = client.get(reverse("care:hotline_new"), {"village": B, "name": "陈小军"})
    assert (found.context["village"].code, [c.pk for c in found.context["children"]]) == (B, [child.pk])


def test_a_place_outside_the_city_is_404(client, operator, tree):
    other = region_tree(city="410200", counties=("410203",))
    stranger = make_child(other["410203100201"])
    client = _login(client, operator)
    assert client.get(reverse("care:hotline_new"), {"village": "410203100201"}).status_code == 404
    assert client.get(reverse("care:hotline_new"), {"child": stranger.pk}).status_code == 404
    assert (
        client.get(reverse("care:hotline_new"), {"id_number": stranger.id_number}).context["children"] == []
    )


def _call(**fields):
    data = {
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "caller_kind": "neighbour",
        "callback_number": "13900000009",
        "summary": "邻居反映孩子连续三天独自在家。",
        "outcome": "report",
        "kind": "unsupervised",
        "urgency": "urgent",
        "answer": "",
        "provisional_name": "小花",
    }
    return {**data, **fields}


def test_operator_turns_a_call_about_a_registered_child_into_a_report(client, operator, cast, tree):
    child = make_child(tree[A], name="周小雨")
    client = _login(client, operator)
    url = reverse("care:hotline_new") + f"?child={child.pk}"
    page = client.get(url)
    assert (page.context["child"], "provisional_name" in page.context["form"].fields) == (child, False)
    response = client.post(url, _call())
    assert (response.status_code, response["Location"]) == (302, reverse("care:hotline"))
    call = HotlineCall.objects.get()
    case = Case.objects.get()
    assert (call.child, call.case, call.region, call.callback_number, call.operator) == (
        child, case, tree[A], "13900000009", operator
    )  # fmt: skip
    assert (case.child, case.kind, case.urgency, case.reporter_kind, case.description) == (
        child, "unsupervised", "urgent", ReporterKind.HOTLINE, "邻居反映孩子连续三天独自在家。"
    )  # fmt: skip
    assert _messages(response) == [
        f"已登记来电，并转为强制报告：个案 {case.pk}（待受理），由乡镇或县级民政受理。"
    ]


def test_the_case_page_shows_no_callback_number(client, operator, cast, tree):
    child = make_child(tree[A])
    call = make_call(
        operator, tree[A], outcome="report", kind="dropout", child=child, callback_number="13900000007"
    )
    response = _login(client, cast["county"]).get(reverse("care:case", args=[call.case_id]))
    assert (response.status_code, response.content.decode().count("13900000007")) == (200, 0)


def test_a_call_about_a_child_not_yet_registered_opens_a_provisional_report(client, operator, tree):
    response = _login(client, operator).post(
        reverse("care:hotline_new") + f"?village={B}&step=call",
        _call(urgency="normal"),
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.child, case.provisional_name, case.village, case.urgency) == (
        None,
        "小花",
        tree[B],
        "normal",
    )


def test_a_consultation_keeps_its_answer(client, operator, tree):
    response = _login(client, operator).post(
        reverse("care:hotline_new") + "?step=call",
        _call(outcome="consultation", kind="", answer="告知可向村儿童主任求助。"),
    )
    assert response.status_code == 302
    call = HotlineCall.objects.get()
    assert (call.outcome, call.case, call.answer, call.region.code) == (
        "consultation", None, "告知可向村儿童主任求助。", "410900000000"
    )  # fmt: skip
    assert _messages(response) == ["已登记来电（咨询，已当场解答）。"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("query", "change", "field", "message"),
    [
        (f"?village={B}&step=call", {"kind": ""}, "kind", "转为强制报告时，请选择发生了什么。"),
        (f"?village={B}&step=call", {"provisional_name": ""}, "provisional_name",
         "未匹配到已登记的儿童，请填写儿童姓名。"),
        ("?step=call", {"outcome": "consultation"}, "answer", "咨询来电请写明解答内容。"),
        ("?step=call", {"summary": ""}, "summary", "请写明来电内容。"),
        ("?step=call", {"caller_kind": ""}, "caller_kind", "请选择来电人。"),
        ("?step=call", {}, None, "转为强制报告时，请选择儿童所在的村（社区）。"),
        (f"?village={B}&step=call", {"callback_number": "123"}, None,
         "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）"),
        (f"?village={B}&step=call", {"received_at": "future"}, None,
         "来电时间不能晚于现在。"),
    ],
)  # fmt: skip
def test_call_bad_input_is_refused_on_the_form(client, operator, tree, query, change, field, message):
    data = _call(**change)
    if data["received_at"] == "future":
        data["received_at"] = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = _login(client, operator).post(reverse("care:hotline_new") + query, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"__all__" if field is None else field: [message]}
    assert form["summary"].value() == data["summary"]
    assert (HotlineCall.objects.count(), Case.objects.count()) == (0, 0)


def test_operator_home_shows_todays_calls_and_the_button(client, operator, tree):
    today = make_call(operator, tree[A], minutes_ago=1)
    response = _login(client, operator).get(reverse("home"))
    assert [c.pk for c in response.context["hotline_today"]] == [today.pk]
    body = response.content.decode()
    assert body.count(f'id="hotline-new" href="{reverse("care:hotline_new")}"') == 1
    assert body.count(f'href="{reverse("care:hotline")}">热线来电</a>') == 1  # the menu


def test_hotline_menu_item_is_for_operators_only(client, cast):
    body = _login(client, cast["city"]).get(reverse("home")).content.decode()
    assert body.count(">热线来电</a>") == 0


def test_the_same_diary_sent_twice_is_refused_on_the_form(client, cast, tree):
    client = _login(client, cast["township"])
    url = reverse("care:diary", args=[TOWNSHIP])
    assert client.post(url, _diary(tree)).status_code == 302
    events = AuditEvent.objects.filter(action="update").count()
    response = client.post(url, _diary(tree))
    assert response.context["form"].errors == {"__all__": ["该月的督导日志已经保存，内容没有变化。"]}
    updates = AuditEvent.objects.filter(action="update").count()
    assert (SupervisionDiary.objects.count(), updates) == (1, events)
    # A changed note rewrites the month's diary.
    assert client.post(url, _diary(tree, note="补充：村2也已走访。")).status_code == 302
    assert list(SupervisionDiary.objects.values_list("note", flat=True)) == ["补充：村2也已走访。"]


def test_the_same_call_sent_twice_opens_one_case(client, operator, tree):
    child = make_child(tree[A])
    client = _login(client, operator)
    url = reverse("care:hotline_new") + f"?child={child.pk}"
    data = _call()
    assert client.post(url, data).status_code == 302
    response = client.post(url, data)
    assert response.context["form"].errors == {"__all__": ["这个来电已经登记过了（来电时间和内容相同）。"]}
    assert (HotlineCall.objects.count(), Case.objects.count()) == (1, 1)


def test_a_consultation_needs_no_urgency(client, operator):
    data = {**_call(outcome="consultation", answer="已解答。"), "urgency": ""}
    response = _login(client, operator).post(reverse("care:hotline_new") + "?step=call", data)
    assert (response.status_code, HotlineCall.objects.get().outcome) == (302, "consultation")
