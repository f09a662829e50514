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
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from accounts.services import role_permissions_apply
from registry.models import Child
from tests.factories import PASSWORD, UserFactory, child_post_data, totp_code

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
        # Buttons that ask first (提交本村报表, 审核通过): this person answers 确定.
        self.page.on("dialog", lambda dialog: dialog.accept())
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


DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def _sign_in_with_code(browser, live_server, user, key, **screen):
    """A browser context of ``user``, signed in through the login page and the code page."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", **screen)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("验证码").fill(totp_code(key))
    page.get_by_role("button", name="验证").click()
    expect(page.locator("#whoami")).to_contain_text(user.get_role_display())
    return context, page


def _enrolled_admin(username, role):
    user = UserFactory(username=username, role=role, region=None)
    role_permissions_apply(user=user)
    device = TOTPDevice.objects.create(user=user, name="手机验证器", confirmed=True)
    return User.objects.get(pk=user.pk), device.bin_key


def test_a_reset_takes_two_administrators_and_only_the_owner_sets_the_password(browser, live_server, cast):
    """Issue 12: the system administrator asks (desktop), the security administrator confirms
    (desktop), the cadre activates on a phone — each from their home page, no URL typed."""
    sysadmin, sys_key = _enrolled_admin("sys", Role.SYSADMIN)
    secadmin, sec_key = _enrolled_admin("sec", Role.SECURITY_ADMIN)

    context, page = _sign_in_with_code(browser, live_server, sysadmin, sys_key, **DESKTOP)
    page.locator("#admin-duty").get_by_role("link", name="账号", exact=True).click()
    page.get_by_role("link", name="cadre_a").click()
    page.get_by_role("link", name="重置密码").click()
    page.get_by_label("原因").fill("本人忘记密码，来电申请")
    page.get_by_role("button", name="申请激活码").click()
    first = page.locator("#code-half-value").inner_text()
    page.screenshot(path=ARTIFACTS / "20-sysadmin-first-half.png", full_page=True)
    context.close()

    context, page = _sign_in_with_code(browser, live_server, secadmin, sec_key, **DESKTOP)
    page.locator("#activations-link").click()
    page.get_by_role("link", name="去确认").click()
    expect(page.locator("body")).to_contain_text("本人忘记密码，来电申请")
    page.get_by_role("button", name="核实无误，确认并取得第二段").click()
    second = page.locator("#code-half-value").inner_text()
    page.screenshot(path=ARTIFACTS / "21-secadmin-second-half.png", full_page=True)
    context.close()

    owner = Phone(browser, live_server, cast["cadre_a"])
    owner.page.goto("/")
    owner.page.get_by_role("link", name="用激活码激活账号").click()
    owner.page.get_by_label("用户名").fill("cadre_a")
    owner.page.get_by_label("激活码第一段（系统管理员提供）").fill(first)
    owner.page.get_by_label("激活码第二段（安全管理员提供）").fill(second)
    owner.page.get_by_label("新密码", exact=True).fill("Cadre-own-2026")
    owner.page.get_by_label("再次输入新密码").fill("Cadre-own-2026")
    owner.shot("22-owner-activate")
    owner.page.get_by_role("button", name="激活并设置新密码").click()
    expect(owner.page.locator(".alert-success")).to_contain_text("账号已激活，新密码已生效")
    owner.shot("23-owner-home")
    assert User.objects.get(username="cadre_a").check_password("Cadre-own-2026") is True
    owner.context.close()
