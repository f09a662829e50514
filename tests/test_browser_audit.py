"""Issue 14 §16 (the audit half), in a real browser: a county officer searches the children's list
for a name and for an ID number typed with spaces; the audit administrator, signed in with a
code on a desktop, opens the audit log from the home page and reads each search in Chinese with
the term starred out — no name, no number. Runs and skips like tests/test_browser.py."""

from datetime import date

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import ChildFactory, make_id_number
from tests.test_browser import ARTIFACTS, DESKTOP, Phone, _enrolled_admin, _sign_in_with_code, browser

__all__ = ["browser"]  # the fixture, shared with tests/test_browser.py

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

NAME = "赵小红"
NUMBER = make_id_number("410922", date(2022, 2, 1))


def test_the_auditor_reads_searches_without_names_or_numbers(browser, live_server, cast, tree):
    ChildFactory(village=tree["410922100201"], name=NAME, id_number=NUMBER)
    county = Phone(browser, live_server, cast["county"])
    county.sign_in("30-county")
    for typed in (NAME, f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}"):
        county.page.goto("/children/")
        county.page.locator('[name="q"]').fill(typed)
        county.page.get_by_role("button", name="查询").click()
        expect(county.page.locator("body")).to_contain_text(NAME)
    county.shot("31-county-searched")
    county.context.close()

    auditor, key = _enrolled_admin("auditor", Role.AUDIT_ADMIN)
    context, page = _sign_in_with_code(browser, live_server, auditor, key, **DESKTOP)
    page.get_by_role("link", name="审计日志").first.click()
    details = page.locator("#audit-events .audit-detail").all_inner_texts()
    page.screenshot(path=ARTIFACTS / "32-auditor-log.png", full_page=True)
    body = page.locator("body").inner_text()
    context.close()
    assert details == [
        "查询记录（1 条结果）；搜索：***（号码）",
        "查询记录（1 条结果）",
        "查询记录（1 条结果）；搜索：***",
        "查询记录（1 条结果）",
        "来源：网页填报",
    ]
    assert (NAME in body, NUMBER[6:] in body, NUMBER[6:14] in body) == (False, False, False)
