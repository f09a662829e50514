"""Supervision pages: who sees them, the actions through the pages, overdue items on home pages."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from registry.models import Child
from survey import supervision
from survey.models import Inspection, Rectification, RectificationStatus, SpotCheck, Verdict
from tests.factories import UserFactory, make_child


@pytest.fixture
def inspection(cast, tree):
    for n in range(6):
        make_child(tree[f"410923{'100' if n < 4 else '101'}201"])
    return supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=date(2022, 9, 10), team="陈督导"
    )


@pytest.fixture
def officer2(tree):
    return UserFactory(username="county2", role="county_officer", region=tree["410923"])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("supervisor", 200),
        ("city", 200),
        ("county", 404),
        ("township", 404),
        ("cadre_c", 404),
        ("liaison", 404),
        ("sysadmin", 404),
    ],
)
def test_inspection_page_scope(client, cast, inspection, who, status):
    client.force_login(cast[who])
    assert client.get(reverse("inspection_detail", args=[inspection.pk])).status_code == status


def test_the_county_sees_its_own_inspection(client, officer2, inspection):
    client.force_login(officer2)
    assert client.get(reverse("inspection_detail", args=[inspection.pk])).status_code == 200
    assert [i.pk for i in client.get(reverse("inspection_list")).context["inspections"]] == [inspection.pk]


def test_supervision_pages_refuse_the_wrong_method(client, cast, inspection):
    client.force_login(cast["supervisor"])
    assert client.post(reverse("inspection_detail", args=[inspection.pk])).status_code == 405
    assert client.get(reverse("inspection_sample", args=[inspection.pk])).status_code == 405
    assert client.put(reverse("inspection_list")).status_code == 405


def test_supervisor_creates_an_inspection_of_an_assigned_county_only(client, cast, tree):
    client.force_login(cast["supervisor"])
    page = client.get(reverse("inspection_list"))
    assert [c.code for c in page.context["form"].fields["county"].queryset] == ["410923000000"]
    response = client.post(
        reverse("inspection_list"), {"county": tree["410922"].pk, "date": "2022-09-10", "team": "陈督导"}
    )
    assert response.status_code == 200
    assert Inspection.objects.count() == 0
    response = client.post(
        reverse("inspection_list"), {"county": tree["410923"].pk, "date": "2022-09-10", "team": "陈督导"}
    )
    assert response.status_code == 302
    assert Inspection.objects.get().county_code == "410923000000"


def test_sampling_and_spot_checks_through_the_page(client, cast, inspection):
    client.force_login(cast["supervisor"])
    client.post(reverse("inspection_sample", args=[inspection.pk]), {"size": "3", "seed": "20220910"})
    checks = list(SpotCheck.objects.filter(inspection=inspection))
    assert len(checks) == 3
    assert [c.record_id for c in checks] == [
        pk for pk, _ in supervision.draw_sample(inspection.county, 3, "20220910")
    ]
    client.post(
        reverse("spot_checks_record", args=[inspection.pk]),
        {f"verdict_{checks[0].pk}": Verdict.FALSE, f"note_{checks[0].pk}": "查无此人"},
    )
    checks[0].refresh_from_db()
    assert (checks[0].verdict, checks[0].note) == (Verdict.FALSE, "查无此人")
    page = client.get(reverse("inspection_detail", args=[inspection.pk])).content.decode()
    assert "查无此人" in page
    assert "抽样种子 <code>20220910</code>" in page


def test_rectification_through_the_pages(client, cast, officer2, inspection):
    client.force_login(cast["supervisor"])
    deadline = (timezone.localdate() + timedelta(days=10)).isoformat()
    client.post(
        reverse("rectification_add", args=[inspection.pk]),
        {"description": "补齐监护人电话", "responsible_unit": "县2民政局", "deadline": deadline},
    )
    item = Rectification.objects.get()
    client.force_login(officer2)
    client.post(reverse("rectification_action", args=[item.pk, "done"]), {"evidence": "已补齐"})
    item.refresh_from_db()
    assert item.status == RectificationStatus.DONE
    client.force_login(cast["supervisor"])
    client.post(reverse("rectification_action", args=[item.pk, "close"]))
    item.refresh_from_db()
    assert item.status == RectificationStatus.CLOSED


def test_overdue_rectifications_show_on_county_and_city_home(client, cast, officer2, inspection):
    item = supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="建立无人监护儿童台账",
        responsible_unit="县2民政局",
        deadline=timezone.localdate() - timedelta(days=1),
    )
    for user in (officer2, cast["city"]):
        client.force_login(user)
        inbox = client.get(reverse("home")).context["inbox"]
        assert [i.pk for i in inbox["overdue_items"]] == [item.pk]
    client.force_login(cast["county"])  # another county
    assert client.get(reverse("home")).context["inbox"] is None


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_inspection_page_queries_do_not_grow_with_the_sample(client, cast, tree, inspection):
    client.force_login(cast["supervisor"])
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=inspection, size=1, seed="s")
    url = reverse("inspection_detail", args=[inspection.pk])
    few = _queries(client, url)
    second = supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=date(2022, 9, 11), team="x"
    )
    for _ in range(20):
        make_child(tree["410923101202"])
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=second, size=20, seed="s")
    supervision.rectification_create(
        user=cast["supervisor"],
        inspection=second,
        description="a",
        responsible_unit="b",
        deadline=date(2030, 1, 1),
    )
    assert _queries(client, reverse("inspection_detail", args=[second.pk])) == few


# --- the whole sample on one sheet (issue 14 item 10) and what each action says (item 15) ---------


def _child_name(check):
    return Child.objects.get(pk=check.record_id).name


def _said(response):
    return [m.message for m in get_messages(response.wsgi_request)]


@pytest.fixture
def sampled(cast, inspection):
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=inspection, size=3, seed="s")
    return list(inspection.checks.order_by("pk"))


def test_spot_check_sheet_presets_no_verdict(client, cast, inspection, sampled):
    client.force_login(cast["supervisor"])
    html = client.get(reverse("inspection_detail", args=[inspection.pk])).content.decode()
    radios = [tag for tag in re.findall(r"<input[^>]*>", html) if 'type="radio"' in tag]
    assert (len(radios), sum(" checked" in tag for tag in radios)) == (9, 0)
    assert (html.count('id="spot-check-sheet"'), html.count("<select")) == (1, 0)
    assert html.count('data-confirm="保存已选择核查结果的记录？未选择的记录仍为“待核查”。"') == 1


def test_spot_check_sheet_records_filled_rows_and_leaves_blank_ones(client, cast, inspection, sampled):
    first, second, third = sampled
    client.force_login(cast["supervisor"])
    response = client.post(
        reverse("spot_checks_record", args=[inspection.pk]),
        {
            f"verdict_{first.pk}": Verdict.TRUE,
            f"verdict_{second.pk}": Verdict.WRONG,
            f"note_{second.pk}": "监护人电话有误",
            f"note_{third.pk}": "",
        },
    )
    assert (response.status_code, response.url) == (302, reverse("inspection_detail", args=[inspection.pk]))
    assert _said(response) == ["已记录 2 条核查结果，还有 1 条待核查。"]
    assert [(c.verdict, c.note, c.checked_by) for c in inspection.checks.order_by("pk")] == [
        (Verdict.TRUE, "", cast["supervisor"]),
        (Verdict.WRONG, "监护人电话有误", cast["supervisor"]),
        (Verdict.PENDING, "", None),
    ]
    # One service call per row: one audit event each.
    assert AuditEvent.objects.filter(detail__startswith="核查结果：").count() == 2


def test_spot_check_sheet_resent_records_nothing_twice(client, cast, inspection, sampled):
    client.force_login(cast["supervisor"])
    data = {f"verdict_{sampled[0].pk}": Verdict.TRUE}
    client.post(reverse("spot_checks_record", args=[inspection.pk]), data)
    checked_at = SpotCheck.objects.get(pk=sampled[0].pk).checked_at
    client.get(reverse("inspection_detail", args=[inspection.pk]))  # the first message is read
    response = client.post(reverse("spot_checks_record", args=[inspection.pk]), data)
    assert _said(response) == ["核查结果与已保存的相同，没有变化；还有 2 条待核查。"]
    assert SpotCheck.objects.get(pk=sampled[0].pk).checked_at == checked_at
    assert AuditEvent.objects.filter(detail__startswith="核查结果：").count() == 1


def test_spot_check_sheet_saves_nothing_when_a_row_is_refused(client, cast, inspection, sampled):
    first, second, third = sampled
    client.force_login(cast["supervisor"])
    response = client.post(
        reverse("spot_checks_record", args=[inspection.pk]),
        {
            f"verdict_{first.pk}": Verdict.TRUE,
            f"verdict_{second.pk}": Verdict.FALSE,
            f"note_{third.pk}": "未见本人",
        },
    )
    name = _child_name(second)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"{name}：核查结果为不属实或信息有误时，请写明情况。"
    ]
    assert response.context["form"].errors[f"verdict_{third.pk}"] == ["已填写说明，请选择核查结果。"]
    assert [c.verdict for c in inspection.checks.order_by("pk")] == [Verdict.PENDING] * 3
    assert AuditEvent.objects.filter(detail__startswith="核查结果：").count() == 0
    html = response.content.decode()
    # What was typed comes back.
    assert (html.count('value="未见本人"'), html.count("checked")) == (1, 2)


def test_spot_check_sheet_with_nothing_chosen_is_an_error(client, cast, inspection, sampled):
    client.force_login(cast["supervisor"])
    response = client.post(reverse("spot_checks_record", args=[inspection.pk]), {})
    assert (response.status_code, response.context["form"].non_field_errors()) == (
        200,
        ["没有选择任何核查结果：请为已核查的记录选择属实、不属实或信息有误。"],
    )


def test_spot_check_sheet_refuses_the_county_it_inspects(client, officer2, inspection, sampled):
    client.force_login(officer2)
    response = client.post(
        reverse("spot_checks_record", args=[inspection.pk]), {f"verdict_{sampled[0].pk}": Verdict.TRUE}
    )
    assert (response.status_code, response.context["form"].non_field_errors()) == (
        200,
        [f"{_child_name(sampled[0])}：只有督导组成员可以填写核查结果。"],
    )
    assert SpotCheck.objects.get(pk=sampled[0].pk).verdict == Verdict.PENDING


def test_spot_check_sheet_outside_scope_is_404(client, cast, inspection, sampled):
    client.force_login(cast["county"])
    url = reverse("spot_checks_record", args=[inspection.pk])
    assert (
        client.post(url, {f"verdict_{sampled[0].pk}": Verdict.TRUE}).status_code,
        client.get(url).status_code,
    ) == (
        404,
        405,
    )


def test_creating_an_inspection_says_what_is_next(client, cast, tree):
    client.force_login(cast["supervisor"])
    response = client.post(
        reverse("inspection_list"), {"county": tree["410923"].pk, "date": "2022-09-10", "team": "陈督导"}
    )
    assert _said(response) == [
        f"已创建{tree['410923'].name}督导检查（2022-09-10）。下一步：分层随机抽样，逐条核查后提出整改事项。"
    ]


def test_adding_a_rectification_says_where_it_goes(client, cast, tree, inspection):
    client.force_login(cast["supervisor"])
    response = client.post(
        reverse("rectification_add", args=[inspection.pk]),
        {"description": "补齐监护人电话", "responsible_unit": "县2民政局", "deadline": "2030-01-31"},
    )
    assert _said(response) == [
        "已提出整改事项：补齐监护人电话（县2民政局，期限 2030-01-31）。"
        f"{tree['410923'].name}的县级民政在首页待办中即可看到；整改后由其报送，再由督导组销号。"
    ]


def test_rectification_actions_say_what_happened(client, cast, officer2, inspection):
    item = supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="补齐监护人电话",
        responsible_unit="县2民政局",
        deadline=date(2030, 1, 31),
    )
    client.force_login(officer2)
    response = client.post(reverse("rectification_action", args=[item.pk, "done"]), {"evidence": "已补齐"})
    assert _said(response) == ["整改事项「补齐监护人电话」：已报送整改情况，等待督导组核实销号。"]
    client.get(reverse("inspection_detail", args=[inspection.pk]))  # the message is read
    client.force_login(cast["supervisor"])
    response = client.post(reverse("rectification_action", args=[item.pk, "close"]))
    assert _said(response) == ["整改事项「补齐监护人电话」：已销号。"]


# --- a new rectification item reaches the county's home at once (issue 14 item 11) -------------


def _item(cast, inspection, description, days):
    return supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description=description,
        responsible_unit="县2民政局",
        deadline=timezone.localdate() + timedelta(days=days),
    )


def test_a_new_rectification_item_is_on_the_county_home_before_it_is_overdue(
    client, cast, officer2, inspection
):
    later = _item(cast, inspection, "建立无人监护儿童台账", 30)
    soon = _item(cast, inspection, "补齐监护人电话", 3)
    late = _item(cast, inspection, "补录漏报儿童", -1)
    done = _item(cast, inspection, "已整改的事项", 5)
    supervision.rectification_mark_done(user=officer2, item=done, evidence="已补齐")
    client.force_login(officer2)
    response = client.get(reverse("home"))
    inbox = response.context["inbox"]
    assert [(i.pk, i.days_left, i.due_soon) for i in inbox["open_items"]] == [
        (soon.pk, 3, True),
        (later.pk, 30, False),
    ]
    assert [i.pk for i in inbox["overdue_items"]] == [late.pk]
    html = response.content.decode()
    section = html[
        html.index('id="open-rectifications"') : html.index("</div>\n", html.index("整改后在督导"))
    ]
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', section)
    county = inspection.county.name
    assert links == [
        (
            f"{reverse('inspection_detail', args=[inspection.pk])}#item-{soon.pk}",
            f"{county} · 补齐监护人电话",
        ),
        (
            f"{reverse('inspection_detail', args=[inspection.pk])}#item-{later.pk}",
            f"{county} · 建立无人监护儿童台账",
        ),
    ]
    assert section.count("即将到期") == 1


def test_open_rectification_items_are_the_county_officers_own(client, cast, officer2, inspection):
    _item(cast, inspection, "补齐监护人电话", 3)
    for who in ("county", "city", "supervisor", "township"):  # another county; those who follow it up
        client.force_login(cast[who])
        inbox = client.get(reverse("home")).context["inbox"]
        assert (inbox or {}).get("open_items", []) == [], who
