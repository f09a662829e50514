"""Who visits and the hotline in a real browser (issue 15 items 5 and 6): a hotline operator at
desktop width logs a call about a registered child from the home page, finds the child by ID
number and turns the call into a report; a township reviewer at 390 px opens the board's
"儿童主任/督导员（缺 N）", names a director for a village shown as a gap with one tap, and sees the
gap close.

Skipped with tests/test_browser.py when Chromium or Playwright is missing (REQUIRE_BROWSER=1 fails).
"""

import pytest

from accounts.models import Role
from care.models import CareWorker, Case, HotlineCall, ReporterKind
from tests.factories import UserFactory, make_care_worker, make_child
from tests.test_browser import DESKTOP, Phone
from tests.test_browser import browser as browser  # the fixture

try:
    from playwright.sync_api import expect
except ImportError:  # tests.test_browser has skipped the module already
    expect = None

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B, TOWNSHIP = "410922100201", "410922100202", "410922100000"


class Desktop(Phone):
    """One person's desktop browser (1366 px), signed in through the login page."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.user = user


def test_operator_logs_a_call_about_a_registered_child_and_turns_it_into_a_report(
    browser, live_server, tree
):
    child = make_child(tree[B], name="周小雨")
    operator = UserFactory(username="hotline", role=Role.HOTLINE_OPERATOR, region=tree["4109"])
    desk = Desktop(browser, live_server, operator)
    desk.sign_in("p01-hotline")
    page = desk.page
    expect(page.locator("#hotline-today")).to_contain_text("今天还没有来电。")
    page.locator("#hotline-new").click()
    page.locator("#id_number").fill(child.id_number)
    page.locator("#find-id").get_by_role("button", name="查找").click()
    page.locator(f"#match-{child.pk}").click()
    expect(page.locator("#call-about")).to_have_text(f"儿童：{child.name} · 县1镇1村2")
    page.locator("label[for=id_caller_kind_3]").click()  # 邻居或村民
    page.locator("#id_callback_number").fill("13900000009")
    page.locator("#id_summary").fill("邻居反映孩子连续三天独自在家。")
    page.locator("label[for=id_outcome_0]").click()  # 转为强制报告
    page.locator("#id_kind").select_option("unsupervised")
    page.locator("label[for=id_urgency_0]").click()  # 紧急
    desk.shot("p02-hotline-call-form")
    page.get_by_role("button", name="保存来电").click()
    case = Case.objects.get()
    expect(page.locator(".alert-success")).to_have_text(
        f"已登记来电，并转为强制报告：个案 {case.pk}（待受理），由乡镇或县级民政受理。"
    )
    call = HotlineCall.objects.get()
    expect(page.locator(f"#call-{call.pk}")).to_contain_text("回拨 13900000009")
    desk.shot("p03-hotline-calls")
    assert (case.child, case.urgency, case.reporter_kind, call.case, call.child) == (
        child, "urgent", ReporterKind.HOTLINE, case, child
    )  # fmt: skip
    page.goto("/")
    expect(page.locator("#hotline-today .list-group-item")).to_have_count(1)


def test_township_names_a_director_for_a_gap_at_390px_and_the_gap_closes(browser, live_server, cast, tree):
    make_care_worker(tree[A], cast["township"], name="李主任")
    phone = Phone(browser, live_server, cast["township"])
    phone.sign_in("p04-township")
    page = phone.page
    page.goto(f"/care/regions/{TOWNSHIP}/")
    link = page.locator("#workers-link")
    expect(link).to_have_text("儿童主任/督导员（缺 2）")
    link.tap()
    gap = page.locator(f"#village-{B}")
    expect(gap).to_contain_text("未指定儿童主任")
    button = gap.get_by_role("link", name="指定儿童主任")
    box = button.bounding_box()
    assert (box["height"] >= 38, box["x"] + box["width"] <= 390) == (True, True)
    phone.shot("p05-township-gaps")
    button.tap()
    expect(page.locator("h1")).to_have_text("指定儿童主任")
    page.locator("#id_name").fill("王主任")
    page.locator("#id_phone").fill("13800000003")
    page.locator("#id_account").select_option(str(cast["cadre_b"].pk))
    page.get_by_role("button", name="保存").tap()
    expect(page.locator(".alert-success")).to_contain_text("已指定县1镇1村2的儿童主任：王主任")
    expect(page.locator(f"#village-{B}")).to_contain_text("王主任")
    expect(page.locator(f"#village-{B}")).not_to_contain_text("未指定儿童主任")
    expect(page.locator("#gap-count")).to_have_text("缺儿童主任的村 0 · 缺儿童督导员的乡镇 1")
    phone.shot("p06-township-gap-closed")
    assert list(CareWorker.objects.current().filter(region=tree[B]).values_list("name", "user")) == [
        ("王主任", cast["cadre_b"].pk)
    ]
