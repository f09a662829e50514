"""The campaign's main path in a real browser on a phone-sized screen (headless Chromium driven by
Playwright against the live server): a village cadre signs in, registers a child through the
form and submits the village's return; the township reviewer signs in and approves it; the
county officer's progress page shows the new child and the approved village.

Each person uses their own browser context (their own phone). A screenshot of every step goes
to test-artifacts/browser/. Uses Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH), never
a browser downloaded by Playwright. Without Playwright or the browser the module is skipped
with the reason; REQUIRE_BROWSER=1 (set by .ci/run) turns that skip into a failure.
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from registry.models import Child
from tests.factories import PASSWORD, child_post_data

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    _missing = "未安装 Playwright（pip install -e '.[test]'）"
else:
    _missing = (
        None if os.access(CHROMIUM, os.X_OK) else f"找不到浏览器 {CHROMIUM}（apt-get install chromium）"
    )

if _missing:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"浏览器测试无法运行：{_missing}；REQUIRE_BROWSER=1 要求运行。", pytrace=False)
    pytest.skip(f"跳过浏览器测试：{_missing}", allow_module_level=True)

A = "410922100201"
pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")


@pytest.fixture
def browser(monkeypatch, settings):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
        # The test's queries ran beside Playwright's event loop, on a connection of their own
        # (Django keeps one per context): close it, or the test database cannot be dropped.
        connection.close()


class Phone:
    """One person's phone: a browser context signed in as ``user``."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **PHONE)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.user = user

    def shot(self, name):
        self.page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)

    def sign_in(self, step):
        page = self.page
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login/"))
        page.get_by_label("用户名").fill(self.user.username)
        page.get_by_label("密码").fill(PASSWORD)
        self.shot(f"{step}-login")
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#whoami")).to_contain_text(self.user.get_role_display())
        self.shot(f"{step}-home")

    def fill(self, values):
        for name, value in values.items():
            field = self.page.locator(f'[name="{name}"]')
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(str(value))
            else:
                field.fill(str(value))


def county_summary(page, label):
    return page.locator("#summary .card", has_text=label).locator(".fs-5").inner_text()


def test_cadre_enters_a_child_and_submits_reviewer_approves_county_sees_it(
    browser, live_server, cast, tree, campaign
):
    county = Phone(browser, live_server, cast["county"])
    county.sign_in("01-county")
    county.page.locator("#inbox").get_by_role("link", name="进度").click()
    expect(county.page.locator("h1")).to_have_text(f"{campaign.name} · {tree['410922'].name}")
    assert (county_summary(county.page, "留守儿童"), county_summary(county.page, "已审核")) == ("0", "0")
    county.shot("02-county-progress-before")

    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("03-cadre")
    cadre.page.get_by_role("link", name="+ 登记留守儿童").click()
    values = child_post_data(tree[A], name="王小雨")
    del values["version"]
    cadre.fill(values)
    cadre.shot("04-cadre-child-form")
    cadre.page.get_by_role("button", name="保存").click()
    expect(cadre.page.locator(".alert-success")).to_contain_text("已登记留守儿童：王小雨")
    cadre.shot("05-cadre-child-saved")
    child = Child.objects.get()
    assert (child.name, child.id_number, child.village_code, child.created_by) == (
        "王小雨",
        values["id_number"],
        A,
        cast["cadre_a"],
    )

    cadre.page.goto("/")
    cadre.page.locator("#inbox").get_by_role("link", name="去提交").click()
    cadre.page.get_by_role("button", name="提交本村报表").click()
    expect(cadre.page.locator("body")).to_contain_text("状态：已提交")
    cadre.shot("06-cadre-return-submitted")

    reviewer = Phone(browser, live_server, cast["township"])
    reviewer.sign_in("07-township")
    reviewer.page.locator("#inbox").get_by_role("link", name=tree[A].name).click()
    reviewer.shot("08-township-return")
    reviewer.page.get_by_role("button", name="审核通过").click()
    expect(reviewer.page.locator("body")).to_contain_text("状态：乡镇已审核")
    reviewer.shot("09-township-approved")

    county.page.reload()
    assert (county_summary(county.page, "留守儿童"), county_summary(county.page, "已审核")) == ("1", "1")
    county.shot("10-county-progress-after")

    for phone in (county, cadre, reviewer):
        phone.context.close()
