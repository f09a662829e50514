"""Progress boards and the phone layout in a real browser (issue 14 items 14, 17, 19, 20): tap
targets, chart text, scroll hints and the 统计表 measured in Chromium at the role's width — a phone
(390 px) for a cadre or a township, a desktop (1366 px) for a county officer or the city office.

Skipped with tests/test_browser.py when Chromium or Playwright is missing (REQUIRE_BROWSER=1 fails).
"""

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from survey import services
from survey.models import VillageReturn
from tests.factories import make_child, make_woman
from tests.test_browser import ARTIFACTS, DESKTOP, Phone, _sign_in_with_code
from tests.test_browser import browser as browser  # the fixture

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B, C = "410922100201", "410922100202", "410923100201"

# Every checkbox and radio on the page: its label's box and whether a tap on the box reaches it.
TAP_TARGETS = """() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(input => input.getClientRects().length)
  .map(input => {
    const label = document.querySelector(`label[for="${input.id}"]`) || input.closest('label');
    input.scrollIntoView({block: 'center', behavior: 'instant'});
    const box = input.getBoundingClientRect();
    const area = label ? label.getBoundingClientRect() : box;
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return {
      name: input.name,
      width: Math.round(area.width),
      height: Math.round(area.height),
      covers: area.left <= box.left && area.right >= box.right
        && area.top <= box.top && area.bottom >= box.bottom,
      reaches: hit === input || hit === label,
    };
  })"""

# The rendered size in CSS px of every text of the page's SVG charts (an SVG scales its text).
CHART_TEXT = """() => [...document.querySelectorAll('figure svg text')].map(text => {
  const svg = text.ownerSVGElement;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Math.round(parseFloat(getComputedStyle(text).fontSize) * scale * 10) / 10;
})"""

FADES = """element => {
  const style = getComputedStyle(element);
  return [style.getPropertyValue('--fade-left'), style.getPropertyValue('--fade-right')];
}"""


def _returns(campaign, cast):
    """Village A submitted and approved, B submitted: something for the boards to show."""
    ret = VillageReturn.objects.get(campaign=campaign, village__code=A)
    ret = services.village_return_submit(user=cast["cadre_a"], village_return=ret, zero=True)
    services.village_return_approve(user=cast["township"], village_return=ret)
    ret = VillageReturn.objects.get(campaign=campaign, village__code=B)
    services.village_return_submit(user=cast["cadre_b"], village_return=ret, zero=True)


def test_every_checkbox_is_a_44px_tap_target_on_a_phone(browser, live_server, cast):
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("b01-cadre")
    cadre.page.goto("/children/new/")
    targets = cadre.page.evaluate(TAP_TARGETS)
    cadre.shot("b02-cadre-checkboxes")
    assert len(targets) > 0
    small = [t for t in targets if t["width"] < 44 or t["height"] < 44 or not (t["covers"] and t["reaches"])]
    assert small == []
    # A tap on the box ticks it; one beside it, on the label 10 px left of and 20 px below the box's
    # centre, unticks it.
    box = cadre.page.locator("input[type=checkbox]").first
    box.tap()
    ticked = box.is_checked()
    area = box.bounding_box()
    cadre.page.touchscreen.tap(area["x"] + area["width"] / 2 - 10, area["y"] + area["height"] / 2 + 20)
    assert (ticked, box.is_checked()) == (True, False)
    cadre.context.close()


@pytest.mark.parametrize("who", ["township", "county"])
def test_chart_text_is_at_least_12px_on_a_phone(browser, live_server, cast, tree, campaign, who):
    _returns(campaign, cast)
    phone = Phone(browser, live_server, cast[who])
    phone.sign_in(f"b03-{who}")
    phone.page.goto(f"/survey/{campaign.pk}/progress/{cast[who].region.code}/")
    sizes = phone.page.evaluate(CHART_TEXT)
    phone.shot(f"b04-{who}-charts-phone")
    # The township sees the trend (3 texts); the county the bars of its 2 townships (4) too.
    assert len(sizes) == {"township": 3, "county": 7}[who]
    assert min(sizes) >= 12
    phone.context.close()


def test_a_table_that_scrolls_sideways_says_so_on_a_phone(browser, live_server, cast, campaign):
    county = Phone(browser, live_server, cast["county"])
    county.sign_in("b05-county")
    county.page.goto(f"/survey/{campaign.pk}/progress/410922000000/")
    wide = county.page.locator(".table-responsive").first
    assert wide.evaluate("e => e.scrollWidth > e.clientWidth") is True
    assert wide.evaluate(FADES) == ["0px", "40px"]  # at the start: more to the right
    county.shot("b06-county-table-start")
    wide.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    county.page.wait_for_timeout(100)
    assert wide.evaluate(FADES) == ["40px", "0px"]  # at the end: more to the left
    county.shot("b07-county-table-end")
    county.page.goto("/regions/410922000000/")
    narrow = county.page.locator(".table-responsive").first
    assert (narrow.evaluate("e => e.scrollWidth > e.clientWidth"), narrow.evaluate(FADES)) == (
        False,
        ["0px", "0px"],
    )
    county.context.close()


def test_statistics_table_shows_its_last_column_at_1366px(browser, live_server, cast, campaign):
    device = TOTPDevice.objects.create(user=cast["city"], name="手机验证器", confirmed=True)
    context, page = _sign_in_with_code(browser, live_server, cast["city"], device.bin_key, **DESKTOP)
    page.goto(f"/survey/{campaign.pk}/progress/410900000000/")
    table = page.locator("#statistics")
    frame = table.locator("xpath=..")
    last = table.locator("thead th").last
    page.screenshot(path=ARTIFACTS / "b08-city-statistics-1366.png", full_page=True)
    right_edge = frame.evaluate("e => e.getBoundingClientRect().right")
    assert frame.evaluate("e => e.scrollWidth - e.clientWidth") == 0
    assert last.evaluate("e => e.getBoundingClientRect().right") <= right_edge
    context.close()


def test_city_home_shows_the_campaigns_figures_and_a_daily_trend_at_1366px(
    browser, live_server, cast, tree, campaign
):
    make_child(tree[C])
    make_woman(tree[C])
    _returns(campaign, cast)
    device = TOTPDevice.objects.create(user=cast["city"], name="手机验证器", confirmed=True)
    context, page = _sign_in_with_code(browser, live_server, cast["city"], device.bin_key, **DESKTOP)
    board = page.locator("#city-board")
    cards = board.locator("#summary .card")
    figures = dict(
        zip(cards.locator(".small").all_inner_texts(), cards.locator(".fs-5").all_inner_texts(), strict=True)
    )
    page.screenshot(path=ARTIFACTS / "b09-city-home-1366.png", full_page=True)
    assert figures == {
        "完成率": "12.5%",
        "已审核村": "1/8",
        "逾期未报": "0",
        "留守儿童": "1",
        "留守妇女": "1",
        "留守老人": "0",
    }
    chart = board.locator("#timeline-chart svg")
    assert chart.bounding_box()["height"] > 100
    # One point per day from the campaign's start (2022-08-01) to today: a flat line where nothing happened.
    days = (timezone.localdate() - campaign.start_date).days + 1
    points = chart.locator("polyline").first.get_attribute("points").split()
    assert (len(points), len(set(p.split(",")[1] for p in points[:-1]))) == (days, 1)
    assert board.locator("#completion-chart svg g").count() == 2
    sizes = page.evaluate(CHART_TEXT)
    assert min(sizes) >= 12
    context.close()


def test_region_and_progress_leads_a_township_to_its_villages_progress(browser, live_server, cast, campaign):
    _returns(campaign, cast)
    township = Phone(browser, live_server, cast["township"])
    township.sign_in("b10-township")
    page = township.page
    headings = page.locator("section", has_text="管辖范围").locator("thead th").all_inner_texts()
    assert headings == ["区划", "代码"]
    page.get_by_role("button", name="菜单").click()
    page.get_by_role("link", name="区划与进度").click()
    township.shot("b11-township-progress")
    assert page.locator("h1").inner_text() == f"{campaign.name} · 县1镇1"
    assert page.locator("#summary .card", has_text="完成率").locator(".fs-5").inner_text() == "50.0%"
    township.context.close()
