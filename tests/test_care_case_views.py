"""Pages of reports, cases and referrals (issue 15 items 3, 4 and 7): the report form, the case page
and its buttons and forms, referrals and their answers, the lists behind the boards' numbers, the
liaison's list, the office's 督办 and what the home pages put first. Each view: in scope, outsider
404, wrong method 405, the right role only, exact assertions; an abuse case's content hidden from
the village's cadre and every liaison but 公安; query counts that do not grow; bad input refused in
Chinese with nothing half-written."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from care import cases
from care.models import Case, CaseEvent, Disposal, PlanItem, Referral
from tests.factories import UserFactory, make_case, make_child, make_referral, member_unit
from workflow import clock

A, B, C = "410922100201", "410922100202", "410923100201"
TOWNSHIP, COUNTY, CITY = "410922100000", "410922000000", "410900000000"


@pytest.fixture
def units(db):
    return {"education": member_unit("education", "教育局"), "police": member_unit("police", "公安局")}


@pytest.fixture
def liaisons(tree, units):
    """The 教育局 liaison and the 公安 liaison, city-wide."""
    return {
        code: UserFactory(
            username=f"liaison_{code}", role=Role.LIAISON, region=tree["4109"], organisation=unit
        )
        for code, unit in units.items()
    }


def _login(client, user):
    client.force_login(user)
    return client


def _messages(response):
    return [m.message for m in get_messages(response.wsgi_request)]


def _report(**overrides):
    return {
        "kind": "unsupervised",
        "urgency": "urgent",
        "description": "儿童独自在家三天，无人照看。",
        "place": "家中",
        "happened_at": "",
        "police_reported_at": "",
        "police_receipt": "",
        "immediate_action": "已联系其姑姑临时照看",
        **overrides,
    }


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- reporting (强制报告) --------------------------------------------------------------------------


def test_cadre_reports_a_child_and_lands_on_the_child_page_with_the_hours(client, cast, tree):
    child = make_child(tree[A])
    client = _login(client, cast["cadre_a"])
    page = client.get(reverse("care:report_new"), {"child": child.pk})
    assert (page.status_code, page.context["child"]) == (200, child)
    response = client.post(reverse("care:report_new"), {"child": child.pk, **_report()})
    case = Case.objects.get()
    # A cadre reads a neglect case of their village: the case page.
    assert (response.status_code, response["Location"]) == (302, reverse("care:case", args=[case.pk]))
    assert _messages(response) == ["报告已提交，乡镇或县级民政将在24小时内受理。"]
    assert (case.child, case.kind, case.urgency, case.reporter_kind, case.state) == (
        child,
        "unsupervised",
        "urgent",
        "village",
        "reported",
    )
    assert (case.place, case.immediate_action) == ("家中", "已联系其姑姑临时照看")


def test_an_abuse_report_sends_the_cadre_back_to_the_child_page(client, cast, tree):
    child = make_child(tree[A])
    client = _login(client, cast["cadre_a"])
    response = client.post(
        reverse("care:report_new"), {"child": child.pk, **_report(kind="domestic_violence", urgency="normal")}
    )
    assert (response.status_code, response["Location"]) == (302, reverse("care:child", args=[child.pk]))
    assert _messages(response) == ["报告已提交，县级民政将在72小时内受理。"]
    assert Case.objects.get().sensitive is True


def test_a_report_of_a_child_not_yet_registered(client, cast, tree):
    client = _login(client, cast["township"])
    response = client.post(
        reverse("care:report_new"),
        _report(village=tree[B].pk, provisional_name="王小花", provisional_note="约8岁，住村东头"),
    )
    case = Case.objects.get()
    assert (response.status_code, response["Location"]) == (302, reverse("care:case", args=[case.pk]))
    assert (case.child, case.provisional_name, case.village_code, case.provisional_due_on) == (
        None,
        "王小花",
        B,
        timezone.localdate(case.reported_at + timedelta(days=7)),
    )


def test_a_report_without_a_child_or_description_is_refused_and_kept(client, cast, tree):
    client = _login(client, cast["township"])
    response = client.post(reverse("care:report_new"), _report(village=tree[B].pk, description=""))
    form = response.context["form"]
    assert response.status_code == 200
    assert form.non_field_errors() == ["请选择已登记的儿童，或填写尚未登记儿童的姓名。"]
    assert form.errors["description"] == ["请写明发生了什么（时间、地点、儿童现在的处境）。"]
    assert (form["kind"].value(), form["place"].value()) == ("unsupervised", "家中")
    assert Case.objects.count() == 0


def test_a_report_in_the_future_is_refused_by_the_service_on_the_form(client, cast, tree):
    child = make_child(tree[A])
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = _login(client, cast["cadre_a"]).post(
        reverse("care:report_new"), {"child": child.pk, **_report(happened_at=later)}
    )
    assert response.context["form"].non_field_errors() == ["发现时间不能晚于现在。"]
    assert Case.objects.count() == 0


def test_a_cadre_cannot_report_into_another_village(client, cast, tree):
    client = _login(client, cast["cadre_a"])
    response = client.post(reverse("care:report_new"), _report(village=tree[B].pk, provisional_name="某"))
    assert response.context["form"].errors["village"] == ["请选择您辖区内的村（社区）。"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize("who", ["cadre_b", "cadre_c", "supervisor"])
def test_the_report_form_of_a_child_outside_scope_is_404(client, cast, tree, who):
    child = make_child(tree[A])
    client = _login(client, cast[who])
    assert client.get(reverse("care:report_new"), {"child": child.pk}).status_code == 404
    assert client.post(reverse("care:report_new"), {"child": child.pk, **_report()}).status_code == 404
    assert Case.objects.count() == 0


def test_the_report_form_is_404_to_the_sysadmin_and_405_to_put(client, cast, tree):
    assert _login(client, cast["sysadmin"]).get(reverse("care:report_new")).status_code == 404
    assert _login(client, cast["cadre_a"]).put(reverse("care:report_new")).status_code == 405


def test_a_liaison_finds_the_child_by_village_and_name_masked_and_reports(client, cast, tree, liaisons):
    child = make_child(tree[C], name="李小龙")
    make_child(tree[C], name="张三")
    client = _login(client, liaisons["education"])
    page = client.get(reverse("care:report_new"), {"village": C, "q": "小龙"})
    [found] = page.context["found"]
    assert (found.child, found.id_number) == (child, f"{child.id_number[:6]}********{child.id_number[-4:]}")
    body = page.content.decode()
    assert (child.id_number in body, f'href="?child={child.pk}"' in body) == (False, True)
    response = client.post(reverse("care:report_new"), {"child": child.pk, **_report(kind="dropout")})
    case = Case.objects.get()
    # A school liaison may not read cases: home, with the message.
    assert (response.status_code, response["Location"], case.reporter_kind) == (
        302,
        reverse("home"),
        "school",
    )
    assert _messages(response) == ["报告已提交，乡镇或县级民政将在24小时内受理。"]


def test_a_report_search_by_name_alone_looks_in_every_village_of_the_scope(client, cast, tree, liaisons):
    here, there = make_child(tree[A], name="赵小明"), make_child(tree[C], name="赵小明")
    make_child(tree[B], name="钱小红")
    client = _login(client, liaisons["education"])
    page = client.get(reverse("care:report_new"), {"village": "", "q": "赵小明"})
    assert [c.child.pk for c in page.context["found"]] == [here.pk, there.pk]
    page = client.get(reverse("care:report_new"), {"village": C, "q": "赵小明"})
    assert [c.child.pk for c in page.context["found"]] == [there.pk]
    # A cadre searches within the village only; the neighbour's child is never found.
    page = _login(client, cast["cadre_b"]).get(reverse("care:report_new"), {"q": "赵小明"})
    assert page.context["found"] == []
    assert AuditEvent.objects.filter(action="list", detail__startswith="报告险情：按姓名查找").count() == 3


# --- the case page --------------------------------------------------------------------------------


def test_case_page_shows_facts_timeline_and_the_tables_buttons_to_the_township(client, cast, tree):
    child = make_child(tree[A])
    case = make_case(child, cast["cadre_a"])
    response = _login(client, cast["township"]).get(reverse("care:case", args=[case.pk]))
    assert response.status_code == 200
    ctx = response.context
    assert [row.action for row in ctx["buttons"]] == ["accept"]
    assert [(row.action, label) for row, label in ctx["reasoned"]] == [("reject", "不予受理的理由")]
    assert [e.label for e in ctx["events"]] == ["报告"]
    assert (ctx["dispose_form"], ctx["assess_form"], ctx["plan_form"]) == (None, None, None)
    assert ctx["referral_form"] is not None
    body = response.content.decode()
    assert body.count('data-confirm="受理后须立即开展应急处置，并在期限内完成评估。确认受理？"') == 1
    views = AuditEvent.objects.filter(action="view", object_type="care.case", object_id=case.pk)
    assert list(views.values_list("user__username", flat=True)) == ["township"]


def test_case_page_gives_the_cadre_no_buttons(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    response = _login(client, cast["cadre_a"]).get(reverse("care:case", args=[case.pk]))
    assert (response.context["buttons"], response.context["reasoned"]) == ([], [])
    assert response.context["referral_form"] is not None  # a cadre refers


def test_late_case_shows_its_badges(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"], urgency="urgent")
    Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - timedelta(hours=2))
    cases.case_escalate_all()
    response = _login(client, cast["county"]).get(reverse("care:case", args=[case.pk]))
    assert response.context["badges"] == [("逾期", "text-bg-danger"), ("县级督办", "text-bg-warning")]
    Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - timedelta(hours=30))
    cases.case_escalate_all()  # late by the 24-hour step's own length again
    response = client.get(reverse("care:case", args=[case.pk]))
    assert [label for label, _ in response.context["badges"]] == ["逾期", "市级督办"]
    assert response.content.decode().count("市级督办</span>") == 1


@pytest.mark.parametrize("who", ["cadre_b", "cadre_c", "supervisor", "liaison", "sysadmin"])
def test_case_page_of_an_outsider_is_404(client, cast, tree, who):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    client = _login(client, cast[who])
    assert client.get(reverse("care:case", args=[case.pk])).status_code == 404
    assert client.post(reverse("care:case_action", args=[case.pk, "accept"])).status_code == 404
    assert Case.objects.get().state == "reported"


def test_case_page_wrong_method_is_405(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    client = _login(client, cast["county"])
    assert client.post(reverse("care:case", args=[case.pk])).status_code == 405
    for name in ("case_dispose", "case_assess", "case_plan", "case_refer"):
        assert client.get(reverse(f"care:{name}", args=[case.pk])).status_code == 405
    assert client.get(reverse("care:case_action", args=[case.pk, "accept"])).status_code == 405


def _abuse(tree, cast):
    child = make_child(tree[A])
    return make_case(
        child, cast["cadre_a"], kind="domestic_violence", description="疑似被父亲殴打，手臂有伤。"
    )


def test_abuse_case_content_is_hidden_from_the_villages_cadre_and_the_township(client, cast, tree):
    case = _abuse(tree, cast)
    for who in ("cadre_a", "township"):
        response = _login(client, cast[who]).get(reverse("care:case", args=[case.pk]))
        body = response.content.decode()
        assert (response.status_code, response.templates[0].name) == (200, "care/case_hidden.html")
        assert ("手臂有伤" in body, "疑似遭受家庭暴力" in body) == (False, False)
        assert "该儿童有一个未结个案（待受理），由县1民政局办理。" in body
    child_page = _login(client, cast["cadre_a"]).get(reverse("care:child", args=[case.child_id]))
    [row] = child_page.context["case_rows"]
    assert (row.read, row.handler) == (False, "县级民政")
    assert "疑似遭受家庭暴力" not in child_page.content.decode()
    assert (
        AuditEvent.objects.filter(action="view", object_type="care.case", detail="仅显示个案存在").count()
        == 2
    )


def test_abuse_case_content_is_read_by_county_city_and_the_police_liaison_only(client, cast, tree, liaisons):
    case = _abuse(tree, cast)
    for user in (cast["county"], cast["city"], liaisons["police"]):
        response = _login(client, user).get(reverse("care:case", args=[case.pk]))
        assert (response.templates[0].name, "手臂有伤" in response.content.decode()) == (
            "care/case.html",
            True,
        )
    assert _login(client, liaisons["education"]).get(reverse("care:case", args=[case.pk])).status_code == 404
    # The police liaison reads; only county civil affairs handles.
    response = _login(client, liaisons["police"]).get(reverse("care:case", args=[case.pk]))
    assert response.context["buttons"] == []
    response = _login(client, cast["county"]).get(reverse("care:case", args=[case.pk]))
    assert [row.action for row in response.context["buttons"]] == ["accept"]


def test_a_township_cannot_accept_an_abuse_case(client, cast, tree):
    case = _abuse(tree, cast)
    response = _login(client, cast["township"]).post(reverse("care:case_action", args=[case.pk, "accept"]))
    assert _messages(response) == [
        "只有本乡镇的审核员（儿童督导员）或本县民政可以办理该个案（涉侵害个案由县级民政办理）。"
    ]
    assert (Case.objects.get().state, CaseEvent.objects.count()) == ("reported", 1)


def test_a_second_acceptance_is_refused_and_writes_nothing(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    county = _login(client, cast["county"])
    url = reverse("care:case_action", args=[case.pk, "accept"])
    first = county.post(url)
    assert (first.status_code, first["Location"]) == (302, reverse("care:case", args=[case.pk]))
    assert _messages(first) == ["受理：个案现为「应急处置」。"]
    accepted = Case.objects.get()
    township = type(client)()
    township.force_login(cast["township"])
    second = township.post(url)
    assert _messages(second) == ["该个案当前为「应急处置」，不能受理。"]
    case = Case.objects.get()
    assert (case.state, case.accepted_at, case.state_since) == (
        "disposing",
        accepted.accepted_at,
        accepted.state_since,
    )
    assert list(CaseEvent.objects.values_list("label", flat=True)) == ["报告", "受理"]


def test_reject_needs_a_reason(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    client = _login(client, cast["township"])
    response = client.post(reverse("care:case_action", args=[case.pk, "reject"]), {"reason": " "})
    assert _messages(response) == ["请写明不予受理的理由。"]
    assert Case.objects.get().state == "reported"
    client.post(reverse("care:case_action", args=[case.pk, "reject"]), {"reason": "经核实儿童与祖母同住"})
    assert (Case.objects.get().state, CaseEvent.objects.last().note) == ("rejected", "经核实儿童与祖母同住")


def test_an_unknown_action_is_404(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    assert (
        _login(client, cast["county"]).post(reverse("care:case_action", args=[case.pk, "delete"])).status_code
        == 404
    )


def _accepted(tree, cast):
    """A neglect case of village A, accepted by the county (应急处置)."""
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    return cases.case_accept(user=cast["county"], case=case)


def test_the_whole_case_through_the_pages(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["township"])
    page = client.get(reverse("care:case", args=[case.pk]))
    assert (page.context["dispose_form"] is not None, page.context["assess_form"] is not None) == (True, True)
    client.post(reverse("care:case_dispose", args=[case.pk]), {"kind": "admonish", "note": "训诫父母"})
    assert list(Disposal.objects.values_list("kind", "note")) == [("admonish", "训诫父母")]
    response = client.post(
        reverse("care:case_assess", args=[case.pk]),
        {"safety": "已安全", "guardianship": "姑姑临时照看", "health": "良好", "measure": "temporary"},
    )
    assert _messages(response)[-1] == "评估已提交，请在期限内确定帮扶计划。"
    case = Case.objects.get()
    assert (case.state, case.guardianship_measure, case.serious_harm) == ("assessed", "temporary", False)
    due = clock.today() + timedelta(days=20)
    plan = {"kind_0": "guardianship_guidance", "owner_0": "村儿童主任", "due_on_0": due.isoformat()}
    plan |= {"kind_1": "schooling", "owner_1": "教育局", "due_on_1": due.isoformat()}
    client.post(reverse("care:case_plan", args=[case.pk]), plan)
    assert list(PlanItem.objects.values_list("kind", "owner")) == [
        ("guardianship_guidance", "村儿童主任"),
        ("schooling", "教育局"),
    ]
    client.post(reverse("care:case_action", args=[case.pk, "request_close"]), {"reason": "监护已落实"})
    assert Case.objects.get().state == "closing"
    # Closing is the county's: the township sees no button, the county approves.
    assert _login(client, cast["township"]).get(reverse("care:case", args=[case.pk])).context["buttons"] == []
    client = _login(client, cast["county"])
    assert [r.action for r in client.get(reverse("care:case", args=[case.pk])).context["buttons"]] == [
        "approve_close"
    ]
    client.post(reverse("care:case_action", args=[case.pk, "approve_close"]))
    assert list(CaseEvent.objects.values_list("label", flat=True)) == [
        "报告",
        "受理",
        "训诫",
        "提交评估",
        "确定帮扶计划",
        "申请结案",
        "批准结案",
    ]


def test_assessment_missing_texts_is_refused_on_the_page_and_kept(client, cast, tree):
    case = _accepted(tree, cast)
    response = _login(client, cast["county"]).post(
        reverse("care:case_assess", args=[case.pk]), {"safety": "已安全", "guardianship": "", "health": ""}
    )
    form = response.context["assess_form"]
    assert (response.status_code, form.errors) == (
        200,
        {"guardianship": ["请填写监护情况。"], "health": ["请填写身心健康。"]},
    )
    assert form["safety"].value() == "已安全"
    assert Case.objects.get().state == "disposing"


def test_plan_rows_half_filled_or_in_the_past_are_refused(client, cast, tree):
    case = _accepted(tree, cast)
    cases.case_assess(user=cast["county"], case=case, safety="a", guardianship="b", health="c")
    client = _login(client, cast["county"])
    response = client.post(reverse("care:case_plan", args=[case.pk]), {})
    assert response.context["plan_form"].non_field_errors() == ["帮扶计划至少要有一项。"]
    past = (clock.today() - timedelta(days=1)).isoformat()
    response = client.post(
        reverse("care:case_plan", args=[case.pk]), {"kind_0": "medical", "owner_0": "", "due_on_0": past}
    )
    assert response.context["plan_form"].errors == {
        "owner_0": ["请写明责任人或单位。"],
        "due_on_0": ["完成期限不能早于今天。"],
    }
    assert (Case.objects.get().state, PlanItem.objects.count()) == ("assessed", 0)


def test_the_forms_of_a_case_are_403_to_who_may_not_handle(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["cadre_a"])
    assert client.post(reverse("care:case_dispose", args=[case.pk]), {"kind": "admonish"}).status_code == 403
    assert client.post(reverse("care:case_assess", args=[case.pk]), {}).status_code == 403
    assert client.post(reverse("care:case_plan", args=[case.pk]), {}).status_code == 403
    city = _login(client, cast["city"])
    data = {"unit": units["education"].pk, "need": "劝返", "due_on": clock.today().isoformat()}
    assert city.post(reverse("care:case_refer", args=[case.pk]), data).status_code == 403
    assert (Disposal.objects.count(), Referral.objects.count()) == (0, 0)


def test_disposal_in_the_wrong_state_is_refused_on_the_form(client, cast, tree):
    case = make_case(make_child(tree[A]), cast["cadre_a"])
    response = _login(client, cast["county"]).post(
        reverse("care:case_dispose", args=[case.pk]), {"kind": "shelter"}
    )
    assert response.context["dispose_form"].non_field_errors() == [
        "该个案当前为「待受理」，不能记录处置措施。"
    ]
    assert Disposal.objects.count() == 0


def test_revocation_grounds_show_on_the_case(client, cast, tree):
    case = _abuse(tree, cast)
    case = cases.case_accept(user=cast["county"], case=case)
    cases.case_assess(
        user=cast["county"], case=case, safety="a", guardianship="b", health="c", serious_harm=True
    )
    response = _login(client, cast["county"]).get(reverse("care:case", args=[case.pk]))
    assert response.context["grounds"] == cases.revocation_grounds(Case.objects.get())
    assert len(response.context["grounds"]) == 1


# --- referrals ----------------------------------------------------------------------------------


def test_refer_from_the_case_page_to_a_unit(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["county"])
    page = client.get(reverse("care:case", args=[case.pk]))
    assert page.context["referral_form"]["due_on"].value() == clock.today() + timedelta(days=15)
    due = clock.today() + timedelta(days=10)
    response = client.post(
        reverse("care:case_refer", args=[case.pk]),
        {"unit": units["education"].pk, "need": "辍学劝返", "due_on": due.isoformat()},
    )
    assert _messages(response) == [f"已转介教育局，办理期限 {due:%Y-%m-%d}。"]
    referral = Referral.objects.get()
    assert (referral.case, referral.unit, referral.need, referral.state) == (
        case,
        units["education"],
        "辍学劝返",
        "sent",
    )
    assert CaseEvent.objects.last().label == "转介教育局"


def test_a_referral_to_a_unit_that_does_not_exist_is_a_form_error(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["county"])
    for bad in ("999999", "教育局", ""):
        response = client.post(
            reverse("care:case_refer", args=[case.pk]),
            {"unit": bad, "need": "辍学劝返", "due_on": clock.today().isoformat()},
        )
        assert (response.status_code, response.context["referral_form"].errors) == (
            200,
            {"unit": ["请选择领导小组成员单位。"]},
        )
    response = client.post(
        reverse("care:referral_new", args=[case.child_id]),
        {"unit": "999999", "need": "劝返", "due_on": clock.today().isoformat()},
    )
    assert response.context["form"].errors == {"unit": ["请选择领导小组成员单位。"]}
    assert Referral.objects.count() == 0


def test_refer_from_the_childs_page(client, cast, tree, units):
    child = make_child(tree[A])
    client = _login(client, cast["cadre_a"])
    page = client.get(reverse("care:child", args=[child.pk]))
    body = page.content.decode()
    assert (page.context["may_refer"], page.context["may_report"]) == (True, True)
    assert body.count(reverse("care:referral_new", args=[child.pk])) == 1
    assert body.count(reverse("care:report_new") + f"?child={child.pk}") == 1
    response = client.post(
        reverse("care:referral_new", args=[child.pk]),
        {"unit": units["education"].pk, "need": "家庭教育指导", "due_on": clock.today().isoformat()},
    )
    assert (response.status_code, response["Location"]) == (302, reverse("care:child", args=[child.pk]))
    assert list(Referral.objects.values_list("child", "case", "need")) == [(child.pk, None, "家庭教育指导")]


def test_referral_form_of_the_child_is_403_to_the_city_and_404_to_outsiders(client, cast, tree, liaisons):
    child = make_child(tree[A])
    url = reverse("care:referral_new", args=[child.pk])
    assert _login(client, cast["city"]).get(url).status_code == 403
    for user in (cast["cadre_b"], liaisons["education"], cast["sysadmin"]):
        assert _login(client, user).get(url).status_code == 404
    assert _login(client, cast["cadre_a"]).put(url).status_code == 405


def test_liaison_accepts_and_completes_and_the_case_timeline_shows_it(client, cast, tree, units, liaisons):
    case = _accepted(tree, cast)
    referral = make_referral(case, cast["county"], units["education"])
    client = _login(client, liaisons["education"])
    page = client.get(reverse("care:referral", args=[referral.pk]))
    assert [r.action for r in page.context["buttons"]] == ["accept"]
    assert [(r.action, label) for r, label in page.context["reasoned"]] == [("decline", "退回理由")]
    child = case.child
    body = page.content.decode()
    assert (child.id_number in body, child.guardian_phone in body) == (False, False)
    assert page.context["child"].guardian_phone == "139****1111"
    client.post(reverse("care:referral_action", args=[referral.pk, "accept"]))
    response = client.post(reverse("care:referral_action", args=[referral.pk, "complete"]), {"reason": ""})
    assert _messages(response)[-1] == "请写明办理情况。"
    response = client.post(
        reverse("care:referral_action", args=[referral.pk, "complete"]), {"reason": "已劝返入学"}
    )
    assert _messages(response)[-1] == "办结：转介现为「已办结」。"
    assert (Referral.objects.get().state, Referral.objects.get().answer) == ("done", "已劝返入学")
    timeline = _login(client, cast["county"]).get(reverse("care:case", args=[case.pk])).context["events"]
    assert [(e.label, e.note) for e in timeline][-2:] == [
        ("教育局接收办理", ""),
        ("教育局办结", "已劝返入学"),
    ]


def test_a_liaison_sees_only_their_units_referrals(client, cast, tree, units, liaisons):
    case = _accepted(tree, cast)
    ours = make_referral(case, cast["county"], units["education"])
    theirs = make_referral(case, cast["county"], units["police"], need="户籍办理")
    client = _login(client, liaisons["education"])
    response = client.get(reverse("care:unit_referrals"))
    assert [row.referral.pk for row in response.context["rows"]] == [ours.pk]
    assert client.get(reverse("care:referral", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("care:referral_action", args=[theirs.pk, "accept"]))
    assert (response.status_code, Referral.objects.get(pk=theirs.pk).state) == (404, "sent")
    # The standing liaison belongs to no unit: nothing.
    assert _login(client, cast["liaison"]).get(reverse("care:unit_referrals")).context["rows"] == []


def test_only_the_unit_answers_a_referral(client, cast, tree, units):
    case = _accepted(tree, cast)
    referral = make_referral(case, cast["county"], units["education"])
    client = _login(client, cast["county"])
    page = client.get(reverse("care:referral", args=[referral.pk]))
    assert (page.context["buttons"], page.context["reasoned"]) == ([], [])
    response = client.post(reverse("care:referral_action", args=[referral.pk, "accept"]))
    assert _messages(response) == ["只有接收转介的成员单位联络员可以办理。"]
    assert Referral.objects.get().state == "sent"


@pytest.mark.parametrize("who", ["cadre_b", "cadre_c", "supervisor", "liaison", "sysadmin"])
def test_referral_page_of_an_outsider_is_404(client, cast, tree, units, who):
    referral = make_referral(_accepted(tree, cast), cast["county"], units["education"])
    assert _login(client, cast[who]).get(reverse("care:referral", args=[referral.pk])).status_code == 404


def test_unit_referrals_is_404_to_everyone_but_liaisons_and_405_to_post(client, cast, liaisons):
    for who in ("cadre_a", "county", "city", "sysadmin"):
        assert _login(client, cast[who]).get(reverse("care:unit_referrals")).status_code == 404
    assert _login(client, liaisons["education"]).post(reverse("care:unit_referrals")).status_code == 405


def test_the_sysadmin_sees_no_case_or_referral(client, cast, tree, units):
    case = _accepted(tree, cast)
    referral = make_referral(case, cast["county"], units["education"])
    client = _login(client, cast["sysadmin"])
    for url in (
        reverse("care:case", args=[case.pk]),
        reverse("care:referral", args=[referral.pk]),
        reverse("care:case_list", args=[CITY]),
        reverse("care:referral_list", args=[CITY]),
        reverse("care:unit_board", args=[CITY]),
        reverse("care:unit_referrals"),
    ):
        assert client.get(url).status_code == 404, url


# --- lists and boards -----------------------------------------------------------------------------


def test_case_list_open_late_and_by_state(client, cast, tree):
    on_time = make_case(make_child(tree[A]), cast["cadre_a"])
    late = make_case(make_child(tree[B]), cast["cadre_b"], urgency="urgent")
    Case.objects.filter(pk=late.pk).update(deadline_at=timezone.now() - timedelta(hours=1))
    make_case(make_child(tree[C]), cast["cadre_c"])
    client = _login(client, cast["township"])
    url = reverse("care:case_list", args=[TOWNSHIP])
    assert [r.case.pk for r in client.get(url).context["rows"]] == [late.pk, on_time.pk]
    response = client.get(url, {"state": "late"})
    assert ([r.case.pk for r in response.context["rows"]], response.context["heading"]) == (
        [late.pk],
        "逾期个案",
    )
    assert [r.case.pk for r in client.get(url, {"state": "rejected"}).context["rows"]] == []
    assert client.get(url, {"state": "nonsense"}).context["heading"] == "全部个案"


def test_case_list_hides_abuse_content_from_the_township(client, cast, tree):
    case = _abuse(tree, cast)
    response = _login(client, cast["township"]).get(reverse("care:case_list", args=[TOWNSHIP]))
    [row] = response.context["rows"]
    assert (row.case.pk, row.read) == (case.pk, False)
    assert "疑似遭受家庭暴力" not in response.content.decode()


def test_referral_list_open_late_and_per_unit(client, cast, tree, units):
    case = _accepted(tree, cast)
    late = make_referral(case, cast["county"], units["education"])
    Referral.objects.filter(pk=late.pk).update(due_on=clock.today() - timedelta(days=1))
    fresh = make_referral(case, cast["county"], units["police"], need="户籍")
    client = _login(client, cast["county"])
    url = reverse("care:referral_list", args=[COUNTY])
    assert [r.referral.pk for r in client.get(url).context["rows"]] == [late.pk, fresh.pk]
    assert [(r.referral.pk, r.late) for r in client.get(url, {"state": "late"}).context["rows"]] == [
        (late.pk, True)
    ]
    response = client.get(url, {"unit": units["police"].pk})
    assert ([r.referral.pk for r in response.context["rows"]], response.context["heading"]) == (
        [fresh.pk],
        "公安局 · 未办结转介",
    )
    board = client.get(reverse("care:unit_board", args=[COUNTY]))
    assert [(u.name, n, k) for u, n, k in board.context["units"]] == [("教育局", 1, 1), ("公安局", 1, 0)]
    assert board.context["totals"] == (2, 1)


@pytest.mark.parametrize("name", ["case_list", "referral_list", "unit_board"])
@pytest.mark.parametrize(("who", "code"), [("cadre_a", B), ("township", "410923100000"), ("liaison", A)])
def test_lists_of_an_outsider_are_404(client, cast, tree, name, who, code):
    assert _login(client, cast[who]).get(reverse(f"care:{name}", args=[code])).status_code == 404


@pytest.mark.parametrize("name", ["case_list", "referral_list", "unit_board"])
def test_lists_wrong_method_is_405(client, cast, tree, name):
    assert _login(client, cast["county"]).post(reverse(f"care:{name}", args=[COUNTY])).status_code == 405


def test_board_shows_cases_and_referrals_with_links(client, cast, tree, units):
    case = _accepted(tree, cast)
    Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - timedelta(hours=1))
    make_referral(case, cast["county"], units["education"])
    response = _login(client, cast["county"]).get(reverse("care:board", args=[COUNTY]))
    c = response.context["whole"]["counts"]
    assert (c.cases_open, c.cases_overdue, c.referrals_open, c.referrals_overdue) == (1, 1, 1, 0)
    body = response.content.decode()
    late = reverse("care:case_list", args=[COUNTY]) + "?state=late"
    assert body.count(f'href="{late}"') == 2  # the summary and the total row
    township_late = reverse("care:case_list", args=[TOWNSHIP]) + "?state=late"
    assert body.count(f'href="{township_late}"') == 1
    assert body.count(f'href="{reverse("care:unit_board", args=[COUNTY])}"') == 1


def _many_cases(tree, cast, units, n):
    for i in range(n):
        case = make_case(make_child(tree[A if i % 2 else B]), cast["cadre_a" if i % 2 else "cadre_b"])
        case = cases.case_accept(user=cast["county"], case=case)
        Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - timedelta(hours=i + 1))
        make_referral(case, cast["county"], units["education" if i % 2 else "police"])


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("county", reverse("care:case_list", args=[COUNTY])),
        ("county", reverse("care:case_list", args=[COUNTY]) + "?state=late"),
        ("township", reverse("care:referral_list", args=[TOWNSHIP])),
        ("county", reverse("care:unit_board", args=[COUNTY])),
        ("liaison_education", reverse("care:unit_referrals")),
        ("county", reverse("home")),
        ("city", reverse("home")),
        ("liaison_education", reverse("home")),
    ],
)
def test_lists_query_count_does_not_grow(client, cast, tree, units, liaisons, who, url):
    user = liaisons["education"] if who == "liaison_education" else cast[who]
    client = _login(client, user)
    _many_cases(tree, cast, units, 2)
    client.get(url)
    one = _queries(client, url)
    _many_cases(tree, cast, units, 10)
    assert _queries(client, url) == one


def test_case_page_query_count_does_not_grow(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["county"])
    url = reverse("care:case", args=[case.pk])
    client.get(url)
    one = _queries(client, url)
    for i in range(5):
        cases.case_dispose(user=cast["county"], case=case, kind="admonish", note=f"第{i}次")
        make_referral(case, cast["county"], units["education"])
    assert _queries(client, url) == one


# --- home pages and the menu ------------------------------------------------------------------------


def test_liaison_home_opens_on_their_units_referrals_overdue_first(client, cast, tree, units, liaisons):
    case = _accepted(tree, cast)
    later = make_referral(case, cast["county"], units["education"], days=10)
    overdue = make_referral(case, cast["county"], units["education"], need="复学")
    Referral.objects.filter(pk=overdue.pk).update(due_on=clock.today() - timedelta(days=2))
    make_referral(case, cast["county"], units["police"])
    response = _login(client, liaisons["education"]).get(reverse("home"))
    rows = response.context["care_referrals"]["rows"]
    assert [(r.referral.pk, r.late) for r in rows] == [(overdue.pk, True), (later.pk, False)]
    body = response.content.decode()
    assert body.count(f'href="{reverse("care:unit_referrals")}"') == 2  # the section and the menu
    assert body.count('id="report-button"') == 1
    assert body.index('id="unit-waiting"') < body.index('id="report-button"')  # opens on the referrals


def test_county_home_shows_late_cases_and_referrals(client, cast, tree, units):
    case = _accepted(tree, cast)
    Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - timedelta(hours=3))
    referral = make_referral(case, cast["county"], units["education"])
    Referral.objects.filter(pk=referral.pk).update(due_on=clock.today() - timedelta(days=1))
    make_case(make_child(tree[B]), cast["cadre_b"])  # on time
    response = _login(client, cast["county"]).get(reverse("home"))
    late = response.context["care_late"]
    assert ([r.case.pk for r in late["cases"]], [r.referral.pk for r in late["referrals"]]) == (
        [case.pk],
        [referral.pk],
    )
    assert 'id="report-button"' not in response.content.decode()


def test_cadre_home_has_the_report_button(client, cast, tree):
    body = _login(client, cast["cadre_a"]).get(reverse("home")).content.decode()
    assert body.count(f'href="{reverse("care:report_new")}" id="report-button"') == 1
    assert body.index('id="care-week"') < body.index('id="report-button"')  # still opens on the week


def test_the_menu_gives_a_liaison_their_list(client, cast, liaisons):
    response = _login(client, liaisons["education"]).get(reverse("home"))
    assert ("转介办理", reverse("care:unit_referrals")) in response.context["nav_items"]
    response = _login(client, cast["county"]).get(reverse("home"))
    assert [label for label, _ in response.context["nav_items"]].count("转介办理") == 0


# --- the same form sent twice (a double tap, a resent form) ------------------------------------------


def test_the_same_report_sent_twice_is_refused_the_second_time(client, cast, tree):
    child = make_child(tree[A])
    client = _login(client, cast["cadre_a"])
    client.post(reverse("care:report_new"), {"child": child.pk, **_report()})
    case = Case.objects.get()
    again = client.post(reverse("care:report_new"), {"child": child.pk, **_report()})
    assert again.context["form"].non_field_errors() == [
        f"这份报告刚才已经提交过了（个案 {case.pk}），不必重复提交。"
    ]
    assert (Case.objects.count(), CaseEvent.objects.count()) == (1, 1)


def test_the_same_disposal_and_referral_sent_twice_are_refused(client, cast, tree, units):
    case = _accepted(tree, cast)
    client = _login(client, cast["county"])
    for _ in range(2):
        response = client.post(
            reverse("care:case_dispose", args=[case.pk]), {"kind": "admonish", "note": "训诫"}
        )
    assert response.context["dispose_form"].non_field_errors() == [
        "刚才已经记录过这项处置措施，不必重复提交。"
    ]
    data = {"unit": units["education"].pk, "need": "辍学劝返", "due_on": clock.today().isoformat()}
    for _ in range(2):
        response = client.post(reverse("care:case_refer", args=[case.pk]), data)
    assert response.context["referral_form"].non_field_errors() == [
        f"已经向教育局转介过这件事（期限 {clock.today():%Y-%m-%d}），尚未办结。"
    ]
    assert (Disposal.objects.count(), Referral.objects.count()) == (1, 1)
