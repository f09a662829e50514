"""A report's whole way in real browsers (issue 15 "What must be true"): a village cadre at 390 px
reports a child from the home page without typing a URL; the county officer at desktop width finds
it behind the board's 未结个案, accepts it and refers it to 教育局; the 教育局 liaison finds the
referral on their home page, accepts and completes it; the county sees it done on the timeline.

Skipped with tests/test_browser.py when Chromium or Playwright is missing (REQUIRE_BROWSER=1 fails).
"""

import pytest

from accounts.models import Role
from care.models import Case, Referral
from tests.factories import UserFactory, make_child, member_unit
from tests.test_browser import ARTIFACTS, DESKTOP, Phone
from tests.test_browser import browser as browser  # the fixture

try:
    from playwright.sync_api import expect
except ImportError:  # tests.test_browser has skipped the module already
    expect = None

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, COUNTY = "410922100201", "410922000000"


class Desktop(Phone):
    """One person's desktop browser (1366 px), who answers 确定 to a button that asks first."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.user = user


def test_a_report_reaches_the_county_is_referred_and_the_liaison_closes_it(browser, live_server, cast, tree):
    child = make_child(tree[A], name="李小雨")
    make_child(tree[A], name="王大明")
    education = member_unit("education", "教育局")
    liaison = UserFactory(username="edu", role=Role.LIAISON, region=tree["4109"], organisation=education)

    # 1. The cadre, on a phone: 报告险情 on the home page, finds the child by name, two taps, a line.
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("r01-cadre")
    page = cadre.page
    button = page.locator("#report-button")
    box = button.bounding_box()
    assert (box["height"] >= 44, box["x"] + box["width"] <= 390) == (True, True)
    button.tap()
    expect(page.locator("h1")).to_have_text("报告险情")
    page.locator("#search-q").fill("小雨")
    page.get_by_role("button", name="查找").tap()
    expect(page.locator("#found a")).to_have_count(1)
    page.locator(f"#found-{child.pk}").tap()
    expect(page.locator("#report-child")).to_contain_text("李小雨")
    page.locator("label", has_text="脱离监护单独居住或失踪").tap()
    page.locator("label[for=id_urgency_0]").tap()  # 紧急
    page.locator("#id_description").fill("父母外出，孩子独自在家三天。")
    cadre.shot("r02-cadre-report-form")
    submit = page.locator("#submit-report")
    assert submit.bounding_box()["x"] + submit.bounding_box()["width"] <= 390
    submit.tap()
    expect(page.locator(".alert-success")).to_have_text("报告已提交，乡镇或县级民政将在24小时内受理。")
    case = Case.objects.get()
    assert (case.child, case.kind, case.urgency, case.state) == (child, "unsupervised", "urgent", "reported")
    expect(page.locator("#case-state")).to_contain_text("待受理")
    cadre.shot("r03-cadre-case")
    cadre.context.close()

    # 2. The county officer, at a desk: the board's 未结个案 → the case → 受理 → 转介教育局.
    county = Desktop(browser, live_server, cast["county"])
    county.sign_in("r11-county")
    page = county.page
    page.get_by_role("link", name="关爱看板").first.click()
    expect(page.locator("#summary-cases-open .fs-5")).to_have_text("1")
    page.locator("#summary-cases-open").click()
    expect(page.locator("h1")).to_contain_text("未结个案")
    page.locator(f"#case-row-{case.pk} a").click()
    expect(page.locator("h1")).to_contain_text("李小雨")
    county.shot("r12-county-case")
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator(".alert-success")).to_have_text("受理：个案现为「应急处置」。")
    page.locator("#id_unit").select_option(str(education.pk))
    page.locator("#id_need").fill("辍学劝返")
    page.locator("#refer-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("已转介教育局")
    referral = Referral.objects.get()
    expect(page.locator(f"#case-referral-{referral.pk}")).to_contain_text("待接收")
    county.shot("r13-county-referred")

    # 3. The 教育局 liaison: the referral waits on the home page; 接收办理, then 办结 with what was done.
    edu = Phone(browser, live_server, liaison)
    edu.sign_in("r21-liaison")
    page = edu.page
    waiting = page.locator(f"#waiting-{referral.pk}")
    expect(waiting).to_contain_text("辍学劝返")
    waiting.tap()
    expect(page.locator("#child-id")).to_contain_text("********")
    page.get_by_role("button", name="接收办理").tap()
    expect(page.locator("#referral-state")).to_contain_text("办理中")
    page.locator("#id_reason_complete").fill("已劝返入学，班主任每周回访")
    page.get_by_role("button", name="办结").tap()
    expect(page.locator("#referral-state")).to_contain_text("已办结")
    edu.shot("r22-liaison-done")
    edu.context.close()

    # 4. The county sees it on the case's timeline.
    county.page.reload()
    expect(county.page.locator("#timeline li").last).to_contain_text("教育局办结")
    expect(county.page.locator("#timeline li").last).to_contain_text("已劝返入学")
    county.shot("r14-county-timeline")
    county.context.close()
    assert (Referral.objects.get().state, ARTIFACTS.exists()) == ("done", True)
