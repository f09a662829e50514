"""Issue 14 items 8, 10, 11 and 15 in a real browser, each person at their desk (1366 px): a
township reviewer goes from a village's return to its records; a county officer from the
duplicate-suspect count to the pairs and a record; a supervisor creates an inspection, draws the
sample and records it on one sheet, nothing preset, after a confirmation, then files a
rectification item; the county officer finds the new item on the home page at once and reports
it. Runs and skips like tests/test_browser.py; screenshots go to test-artifacts/browser/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from survey import supervision
from survey.models import Rectification, RectificationStatus, SpotCheck, Verdict
from tests.factories import UserFactory, make_child
from tests.test_browser import DESKTOP, Phone, browser

__all__ = ["browser"]  # the fixture, shared with tests/test_browser.py

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B = "410922100201", "410922100202"


class Desk(Phone):
    """One person's desktop browser (1366 px); every confirmation is answered 确定 and kept."""

    def __init__(self, browser, live_server, user):
        self.context = browser.new_context(base_url=live_server.url, locale="zh-CN", **DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.dialogs = []
        self.page.on("dialog", self._answer)
        self.user = user

    def _answer(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept()


def test_township_opens_a_villages_records_from_its_return(browser, live_server, cast, tree, campaign):
    ours = [make_child(tree[A], name="王小雨"), make_child(tree[A], name="王小雪")]
    make_child(tree[B], name="李小明")
    desk = Desk(browser, live_server, cast["township"])
    desk.sign_in("40-township")
    page = desk.page
    page.locator("#inbox").get_by_role("link", name="进度").click()
    page.get_by_role("link", name=tree[A].name, exact=True).click()
    expect(page.locator("h1")).to_contain_text(tree[A].name)
    page.get_by_role("row", name=re.compile("留守儿童")).get_by_role("link", name="2").click()
    expect(page).to_have_url(re.compile(r"/children/\?"))
    names = page.locator(".list-group-item-action strong").all_inner_texts()
    desk.shot("41-township-village-records")
    desk.context.close()
    assert sorted(names) == sorted(child.name for child in ours)


def test_county_opens_the_suspected_pairs_and_a_record(browser, live_server, cast, tree, campaign):
    first = make_child(tree[A], name="王小二")
    second = make_child(tree[B], name="王小二", birth_date=first.birth_date)
    desk = Desk(browser, live_server, cast["county"])
    desk.sign_in("42-county")
    page = desk.page
    page.locator("#inbox").get_by_role("link", name="进度").click()
    link = page.locator("#duplicates-link")
    expect(link).to_have_text("疑似重复登记（同名同出生日期） 2 人")
    link.click()
    expect(page.locator("h1")).to_have_text(f"{tree['410922'].name} · 疑似重复登记")
    rows = page.locator("#duplicate-groups tbody tr").all_inner_texts()
    desk.shot("43-county-duplicate-pairs")
    assert [row.split("\t")[0] for row in rows] == ["王小二", "王小二"]
    page.get_by_role("link", name="王小二").nth(1).click()
    expect(page).to_have_url(re.compile(rf"/children/{second.pk}/$"))
    desk.context.close()


def test_supervisor_records_the_sample_on_one_sheet(browser, live_server, cast, tree, campaign):
    for n in range(4):
        make_child(tree["410923100201"], name=f"赵{n}")
    desk = Desk(browser, live_server, cast["supervisor"])
    desk.sign_in("44-supervisor")
    page = desk.page
    page.get_by_role("link", name="督导", exact=True).first.click()
    page.get_by_label("督导县（区）").select_option(label=tree["410923"].name)
    page.get_by_label("督导日期").fill("2022-09-10")
    page.get_by_label("督导组成员").fill("陈督导")
    page.get_by_role("button", name="创建").click()
    expect(page.locator(".alert-success")).to_have_text(
        f"已创建{tree['410923'].name}督导检查（2022-09-10）。下一步：分层随机抽样，逐条核查后提出整改事项。"
    )
    page.get_by_label("抽样数").fill("3")
    page.get_by_role("button", name="分层随机抽样").click()
    sheet = page.locator("#spot-check-sheet")
    expect(sheet.locator('input[type="radio"]')).to_have_count(9)
    assert sheet.locator('input[type="radio"]:checked').count() == 0
    checks = list(SpotCheck.objects.order_by("village_code", "record_id"))
    desk.shot("45-supervisor-sheet-empty")
    page.locator(f"#check-{checks[0].pk}").get_by_text("属实", exact=True).click()
    row = page.locator(f"#check-{checks[1].pk}")
    row.get_by_text("信息有误", exact=True).click()
    row.get_by_placeholder("说明（不属实/信息有误时必填）").fill("监护人电话有误")
    page.get_by_role("button", name="保存核查结果").click()
    expect(page.locator(".alert-success")).to_have_text("已记录 2 条核查结果，还有 1 条待核查。")
    assert desk.dialogs == ["保存已选择核查结果的记录？未选择的记录仍为“待核查”。"]
    assert [c.verdict for c in SpotCheck.objects.order_by("village_code", "record_id")] == [
        Verdict.TRUE,
        Verdict.WRONG,
        Verdict.PENDING,
    ]
    expect(page.locator("#check-progress")).to_have_text("待核查 1 条，共 3 条。")
    assert page.locator('#spot-check-sheet input[type="radio"]:checked').count() == 0
    desk.shot("46-supervisor-sheet-saved")

    page.get_by_label("整改事项").fill("补齐监护人电话")
    page.get_by_label("责任单位").fill("县2民政局")
    page.get_by_label("整改期限").fill("2030-01-31")
    page.get_by_role("button", name="提出整改事项").click()
    expect(page.locator(".alert-success")).to_have_text(
        "已提出整改事项：补齐监护人电话（县2民政局，期限 2030-01-31）。"
        f"{tree['410923'].name}的县级民政在首页待办中即可看到；整改后由其报送，再由督导组销号。"
    )
    desk.shot("47-supervisor-item-filed")
    desk.context.close()


def test_county_finds_a_new_rectification_item_at_home_and_reports_it(browser, live_server, cast, tree):
    make_child(tree["410923100201"])
    officer = UserFactory(username="county2", role="county_officer", region=tree["410923"])
    inspection = supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=timezone.localdate(), team="陈督导"
    )
    item = supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="补齐监护人电话",
        responsible_unit="县2民政局",
        deadline=timezone.localdate() + timedelta(days=3),
    )
    desk = Desk(browser, live_server, officer)
    desk.sign_in("48-county2")
    page = desk.page
    box = page.locator("#open-rectifications")
    expect(box).to_contain_text("待整改的督导事项（未逾期）1 项")
    expect(box).to_contain_text("还有 3 天")
    expect(box.locator(".badge")).to_have_text("即将到期")
    desk.shot("49-county2-home-open-item")
    box.get_by_role("link", name=f"{tree['410923'].name} · 补齐监护人电话").click()
    expect(page).to_have_url(re.compile(rf"/survey/inspections/{inspection.pk}/#item-{item.pk}$"))
    entry = page.locator(f"#item-{item.pk}")
    entry.get_by_placeholder("整改情况/佐证说明").fill("已逐户补齐")
    entry.get_by_role("button", name="报送已整改").click()
    expect(page.locator(".alert-success")).to_have_text(
        "整改事项「补齐监护人电话」：已报送整改情况，等待督导组核实销号。"
    )
    desk.shot("50-county2-item-reported")
    desk.context.close()
    assert Rectification.objects.get().status == RectificationStatus.DONE
