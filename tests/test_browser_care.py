"""The care loop in a real browser (issue 15 item 2 and "What must be true"): a village cadre at
390 px opens the home page on this week's visits, records a visit for a due child from there with
a few taps and no typed URL, and sees the child leave the due list; a township reviewer at desktop
width sees the village's 按期走访率 and 逾期 change on the board once an overdue child is visited.

Skipped with tests/test_browser.py when Chromium or Playwright is missing (REQUIRE_BROWSER=1 fails).
"""

import pytest

from care.models import Visit
from tests.factories import VisitFactory, make_child
from tests.test_browser import ARTIFACTS, DESKTOP, Phone
from tests.test_browser import browser as browser  # the fixture
from workflow import clock

try:
    from playwright.sync_api import expect
except ImportError:  # tests.test_browser has skipped the module already
    expect = None

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B = "410922100201", "410922100202"


class Desktop(Phone):
    """One person's desktop browser (1366 px), signed in through the login page."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.user = user


def _child(tree, cast, code, days_ago):
    """A 四级 child (every 90 days) of village ``code`` last visited ``days_ago`` days ago."""
    child = make_child(tree[code])
    VisitFactory(child=child, user=cast["township"], days_ago=days_ago)
    return child


def test_cadre_records_a_due_visit_from_home_and_the_child_leaves_the_due_list(
    browser, live_server, cast, tree
):
    due = _child(tree, cast, A, days_ago=85)  # due in 5 days
    other = _child(tree, cast, A, days_ago=88)  # due in 2 days
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("c01-cadre")
    page = cadre.page
    week = page.locator("#care-week")
    expect(week).to_be_visible()
    expect(page.locator(".care-week-due")).to_have_count(2)
    # The week's visits come before anything else the cadre's home page offers.
    assert week.bounding_box()["y"] < page.locator("#quick-entry").bounding_box()["y"]
    row = page.locator(f"#week-due-{due.pk}")
    button = row.get_by_role("link", name="记录走访")
    box = button.bounding_box()
    assert (box["height"] >= 44, box["x"] + box["width"] <= 390) == (True, True)
    button.tap()
    expect(page.locator("h1")).to_have_text("记录走访")
    # Nothing to type for an ordinary visit: the date is today, the way 入户, every area 正常.
    assert page.locator("#id_visited_on").input_value() == clock.today().isoformat()
    page.locator("label[for=id_study_concern_1]").tap()  # 学业：有问题 — its note appears
    expect(page.locator("#id_study_note")).to_be_visible()
    expect(page.locator("#id_mind_note")).to_be_hidden()
    page.locator("#id_study_note").fill("数学跟不上")
    cadre.shot("c02-cadre-visit-form")
    page.get_by_role("button", name="保存走访").tap()
    expect(page.locator(".alert-success")).to_have_text(f"已记录走访：{clock.today():%Y-%m-%d}")
    assert page.url == live_server.url + "/"
    expect(page.locator(f"#week-due-{due.pk}")).to_have_count(0)
    expect(page.locator(f"#week-due-{other.pk}")).to_have_count(1)
    expect(page.locator(".care-week-done", has_text=due.name)).to_contain_text("学业有问题")
    cadre.shot("c03-cadre-home-after")
    visit = Visit.objects.get(child=due, recorded_by=cast["cadre_a"])
    assert (visit.visited_on, visit.way, visit.concerns(), visit.study_note) == (
        clock.today(),
        "home",
        ["学业"],
        "数学跟不上",
    )
    cadre.context.close()


def test_township_sees_the_village_coverage_change_on_the_board(browser, live_server, cast, tree):
    overdue = _child(tree, cast, A, days_ago=100)
    _child(tree, cast, A, days_ago=10)
    _child(tree, cast, B, days_ago=95)
    township = Desktop(browser, live_server, cast["township"])
    township.sign_in("c11-township")
    page = township.page
    page.get_by_role("link", name="关爱看板").first.click()
    expect(page.locator("h1")).to_have_text(f"{tree['410922100'].name} · 关爱看板")
    row = page.locator(f"#board-{A}")
    cells = row.locator("td")
    # 区划, 在册, 一级…四级, 本周应访, 逾期, 按期走访率, 等级分布
    assert [cells.nth(i).inner_text() for i in (1, 7, 8)] == ["2", "1", "50.0%"]
    township.shot("c12-township-board-before")
    VisitFactory(child=overdue, user=cast["cadre_a"], days_ago=0)
    page.reload()
    assert [cells.nth(i).inner_text() for i in (1, 7, 8)] == ["2", "0", "100.0%"]
    assert [page.locator("#board-total td").nth(i).inner_text() for i in (7, 8)] == ["1", "66.7%"]
    # The 逾期 figure leads to the child behind it.
    page.locator(f"#board-{B} td").nth(7).get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("逾期")
    expect(page.locator("#care-children .list-group-item")).to_have_count(1)
    township.shot("c13-township-overdue-list")
    township.context.close()
    assert ARTIFACTS.exists()
