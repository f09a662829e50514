"""Issue 14 §9, §13 and §18 in a real browser: the registers' lists and entry as a village cadre
sees them on a phone (390 px) and as county and city officers see them on a desktop (1366 px) —
the county filter and "县 · 乡镇", an ID number of another county, a duplicate that links to the
record, page numbers and the jump box, 打印, the women's and elders' statistics. Screenshots go
to test-artifacts/browser/. Runs and skips like tests/test_browser.py."""

import re
from io import BytesIO
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook
from playwright.sync_api import expect

from registry.models import Child
from tests.factories import (
    ChildFactory,
    ElderFactory,
    WomanFactory,
    child_post_data,
    make_id_number,
    years_ago,
)
from tests.test_browser import ARTIFACTS, DESKTOP, PHONE, Phone, _sign_in_with_code, browser

__all__ = ["ARTIFACTS", "PHONE", "browser"]  # the fixture, shared with tests/test_browser.py

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B, C = "410922100201", "410922100202", "410923100201"
NANLE_ID_IN_QINGFENG = (
    "身份证号地区码 410923（南乐县） 与所在村的县（区）410922（清丰县） 不一致："
    "迁入人员可照常保存，否则请核对"
)


class Desk(Phone):
    """One person's desktop browser (1366 px) signed in as ``user``."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.user = user


def _options(page, name):
    return page.locator(f'select[name="{name}"] option').all_inner_texts()


def _fits(page, width):
    """Nothing wider than the screen: no sideways scrolling of the page itself."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


# --- §9: the county filter and "县 · 乡镇" ----------------------------------------------------


def test_city_officer_chooses_a_county_and_its_townships_follow(browser, live_server, cast, tree):
    ChildFactory(village=tree[A], name="清丰甲")
    ChildFactory(village=tree[C], name="南乐丁")
    city = cast["city"]
    device = TOTPDevice.objects.create(user=city, name="手机验证器", confirmed=True)
    context, page = _sign_in_with_code(browser, live_server, city, device.bin_key, **DESKTOP)
    page.locator("nav.navbar").get_by_role("link", name="留守儿童", exact=True).click()
    expect(page.locator("h1")).to_contain_text("留守儿童")
    assert _options(page, "county") == ["全部县（区）", "县1", "县2"]
    assert _options(page, "township") == [
        "全部乡镇（街道）",
        "县1 · 县1镇1",
        "县1 · 县1镇2",
        "县2 · 县2镇1",
        "县2 · 县2镇2",
    ]
    page.locator('select[name="county"]').select_option(label="县2")
    # The form reloads itself from the server (htmx): no 查询 pressed.
    expect(page).to_have_url(re.compile(r"county=\d+"))
    expect(page.locator('select[name="township"] option')).to_have_count(3)
    assert _options(page, "township") == ["全部乡镇（街道）", "县2 · 县2镇1", "县2 · 县2镇2"]
    expect(page.locator(".list-group-item strong")).to_have_text(["南乐丁"])
    page.locator('select[name="township"]').select_option(label="县2 · 县2镇1")
    expect(page.locator('select[name="village"] option')).to_have_count(3)
    assert _options(page, "village") == ["全部村（社区）", "县2镇1村1", "县2镇1村2"]
    page.screenshot(path=ARTIFACTS / "60-city-county-filter.png", full_page=True)
    assert _fits(page, 1366)
    context.close()


def test_county_officer_reads_townships_with_their_county(browser, live_server, cast, tree):
    ChildFactory(village=tree[A], name="清丰甲")
    county = Desk(browser, live_server, cast["county"])
    county.sign_in("61-county")
    county.page.locator("nav.navbar").get_by_role("link", name="留守儿童", exact=True).click()
    expect(county.page.locator("h1")).to_contain_text("留守儿童")
    assert county.page.locator('select[name="county"]').count() == 0
    assert _options(county.page, "township") == ["全部乡镇（街道）", "县1 · 县1镇1", "县1 · 县1镇2"]
    county.page.locator('select[name="township"]').select_option(label="县1 · 县1镇1")
    expect(county.page.locator('select[name="village"] option')).to_have_count(3)
    assert _options(county.page, "village") == ["全部村（社区）", "县1镇1村1", "县1镇1村2"]
    county.shot("62-county-township-filter")
    county.context.close()


# --- §13: another county's ID number, a duplicate, 登记错误 -------------------------------------


def test_cadre_is_warned_of_another_countys_id_number_and_may_save(browser, live_server, cast, tree):
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("63-cadre")
    cadre.page.get_by_role("link", name="+ 登记留守儿童").click()
    values = child_post_data(tree[A], name="", id_number=make_id_number("410923", years_ago(9, days=40)))
    values = {k: v for k, v in values.items() if k not in ("version", "village")}
    cadre.fill(values)
    cadre.page.get_by_role("button", name="保存").click()
    # Refused for the missing name; the ID number's county is a warning shown before saving.
    expect(cadre.page.locator("#id-warnings")).to_have_text(NANLE_ID_IN_QINGFENG)
    cadre.shot("64-cadre-form-warning")
    cadre.page.locator('[name="name"]').fill("刘小雨")
    cadre.page.get_by_role("button", name="保存").click()
    expect(cadre.page.locator("h1")).to_contain_text("刘小雨")
    expect(cadre.page.locator(".alert-warning")).to_have_text(NANLE_ID_IN_QINGFENG)
    cadre.shot("65-cadre-detail-warning")
    assert _fits(cadre.page, 390)
    assert Child.objects.get().id_warnings == NANLE_ID_IN_QINGFENG
    cadre.context.close()


def test_cadre_typing_a_registered_id_is_led_to_the_record_and_exits_an_entry_error(
    browser, live_server, cast, tree
):
    existing = ChildFactory(village=tree[A], name="张重复")
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("66-cadre")
    cadre.page.get_by_role("link", name="+ 登记留守儿童").click()
    values = child_post_data(tree[A], name="张重复", id_number=existing.id_number)
    cadre.fill({k: v for k, v in values.items() if k not in ("version", "village")})
    cadre.page.get_by_role("button", name="保存").click()
    error = cadre.page.locator('[name="id_number"] ~ .text-danger')
    expect(error).to_have_text(
        "该身份证号已在县1县1镇1县1镇1村1登记为留守儿童，同一人只能登记一次。"
        f"如信息有误或人员已迁入本村，请联系县1镇1审核员{cast['township'].display_name}核实。"
    )
    cadre.shot("67-cadre-duplicate")
    cadre.page.locator("#duplicate-record").get_by_role("link", name="查看已登记的记录").click()
    expect(cadre.page).to_have_url(re.compile(rf"/children/{existing.pk}/$"))
    cadre.page.get_by_role("link", name="退出台账").click()
    cadre.page.locator('[name="reason"]').select_option(label="登记错误")
    cadre.page.locator('[name="date"]').fill("2026-10-01")
    cadre.page.get_by_role("button", name="确认").click()
    expect(cadre.page.locator(".alert-secondary")).to_have_text("已于 2026-10-01 退出台账：登记错误")
    cadre.shot("68-cadre-exit-entry-error")
    cadre.context.close()


def test_cadre_outside_the_records_scope_gets_no_link(browser, live_server, cast, tree):
    existing = ChildFactory(village=tree[B], name="李别村")
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("69-cadre")
    cadre.page.get_by_role("link", name="+ 登记留守儿童").click()
    values = child_post_data(tree[A], name="李别村", id_number=existing.id_number)
    cadre.fill({k: v for k, v in values.items() if k not in ("version", "village")})
    cadre.page.get_by_role("button", name="保存").click()
    expect(cadre.page.locator('[name="id_number"] ~ .text-danger')).to_have_text(
        "该身份证号已在县1县1镇1县1镇1村2登记为留守儿童，同一人只能登记一次。"
        f"如信息有误或人员已迁入本村，请联系县1镇1村2儿童主任{cast['cadre_b'].display_name}"
        f"或县1镇1审核员{cast['township'].display_name}核实。"
    )
    assert cadre.page.locator("#duplicate-record").count() == 0
    cadre.context.close()


# --- §18: page numbers, the jump box, 打印, the women's and elders' statistics ----------------


def test_cadre_pages_by_number_and_jumps_on_a_phone(browser, live_server, cast, tree):
    for i in range(130):
        ChildFactory(village=tree[A], name=f"张{i:03d}")
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("70-cadre")
    cadre.page.goto("/children/")
    pages = cadre.page.locator("#pagination .pagination .page-link")
    assert pages.all_inner_texts() == ["1", "2", "3", "…", "7", "下一页"]
    pages.get_by_text("3", exact=True).click()
    expect(cadre.page.locator("#pagination .pagination .page-link")).to_have_text(
        ["上一页", "1", "2", "3", "4", "5", "6", "7", "下一页"]
    )
    cadre.page.locator("#page-number").fill("7")
    cadre.page.get_by_role("button", name="跳转").click()
    expect(cadre.page).to_have_url(re.compile(r"page=7"))
    expect(cadre.page.locator(".list-group-item strong")).to_have_text(
        [f"张{i:03d}" for i in range(120, 130)]
    )
    cadre.shot("71-cadre-page-7")
    assert _fits(cadre.page, 390)
    cadre.context.close()


def test_county_prints_a_list_and_a_record(browser, live_server, cast, tree):
    for i in range(25):
        ChildFactory(village=tree[A], name=f"王{i:02d}")
    county = Desk(browser, live_server, cast["county"])
    county.context.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    county.sign_in("72-county")
    county.page.locator("nav.navbar").get_by_role("link", name="留守儿童", exact=True).click()
    county.page.locator("#print-list").click()
    page = county.page
    expect(page.locator("#print-table tbody tr")).to_have_count(25)
    assert (page.locator("nav.navbar").count(), page.locator("#filters").count()) == (0, 0)
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    expect(page.locator("#print-actions")).to_be_hidden()
    county.shot("73-county-print-list")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="返回列表").click()
    page.locator(".list-group-item").first.click()
    page.locator("#print-record").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("#record-actions")).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    county.shot("74-county-print-record")
    county.context.close()


def test_county_reads_the_women_and_elders_statistics(browser, live_server, cast, tree, campaign):
    WomanFactory(village=tree[A])
    WomanFactory(village=tree["410922101201"])
    ElderFactory(village=tree[A])
    county = Desk(browser, live_server, cast["county"])
    county.sign_in("75-county")
    county.page.locator("#inbox").get_by_role("link", name="进度").click()
    women = county.page.locator("#statistics-woman")
    elders = county.page.locator("#statistics-elder")
    expect(women.locator("thead th")).to_have_count(13)
    assert women.locator("tbody tr").first.locator("th, td").all_inner_texts()[:2] == ["县1（合计）", "2"]
    assert [row.locator("td").first.inner_text() for row in women.locator("tbody tr").all()[1:]] == [
        "县1镇1",
        "县1镇2",
    ]
    assert elders.locator("tbody tr").first.locator("th, td").all_inner_texts()[:4] == [
        "县1（合计）",
        "1",
        "1",
        "0",
    ]
    women.scroll_into_view_if_needed()
    county.shot("76-county-women-elders-statistics")
    assert _fits(county.page, 1366)
    county.context.close()


def test_county_downloads_a_template_with_the_entry_forms_phones_ids_and_addresses(
    browser, live_server, cast
):
    county = Desk(browser, live_server, cast["county"])
    county.sign_in("77-county")
    county.page.locator("nav.navbar").get_by_role("link", name="导入花名册").click()
    with county.page.expect_download() as download:
        county.page.get_by_role("link", name="留守儿童", exact=True).last.click()
    assert download.value.suggested_filename == "留守儿童花名册导入模板.xlsx"
    header = [
        cell.value for cell in load_workbook(BytesIO(Path(download.value.path()).read_bytes()))["留守儿童"][1]
    ]
    assert [name for name in header if name in ADDED] == ADDED
    county.context.close()


ADDED = ["户籍所在地", "现居住地", "监护人身份证号", "父亲身份证号", "父亲电话", "母亲身份证号", "母亲电话"]
