"""Issue 14 items 2, 3, 5 and 12 in a real browser, each person at the width of their role: the
county officer signs townships off from the home page (1366 px); a cadre of an approved village is
offered no entry and told why before typing (390 px); a township reviewer enters and submits for a
village without a cadre, and the county sees 乡镇代报 (390 px, 1366 px); a county officer uploads a
filled template and reads its row count and every problem of a row (1366 px). Runs and skips like
tests/test_browser.py; screenshots go to test-artifacts/browser/."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from registry.models import Child, ImportJob
from survey import services
from survey.models import ReturnState, VillageReturn
from tests.factories import UserFactory, child_post_data, make_child
from tests.test_browser import Phone, browser
from tests.test_browser_review import Desk
from tests.test_import_messages import _child, _template_with

__all__ = ["browser"]  # the fixture, shared with tests/test_browser.py

pytestmark = pytest.mark.usefixtures("audit_log_flushable_on_sqlite")

A, B = "410922100201", "410922100202"
TOWN2_VILLAGES = ("410922101201", "410922101202")  # 县1镇2: no cadre accounts


def _return(campaign, code):
    return VillageReturn.objects.select_related("campaign", "village").get(
        campaign=campaign, village__code=code
    )


def _approved(campaign, code, cadre, reviewer):
    """``code``'s return submitted (a 零报告 unless the village has records) by ``cadre`` and
    approved by ``reviewer``."""
    ret = _return(campaign, code)
    ret = services.village_return_submit(
        user=cadre, village_return=ret, zero=not Child.objects.filter(village__code=code).exists()
    )
    return services.village_return_approve(user=reviewer, village_return=ret)


def _cells(locator):
    return locator.locator("th, td").all_inner_texts()


# --- item 2: county sign-off where the county is told of it --------------------------------------


def test_county_signs_townships_off_from_home_and_sees_them_signed(
    browser, live_server, cast, tree, campaign
):
    make_child(tree[A])
    _approved(campaign, A, cast["cadre_a"], cast["township"])
    _approved(campaign, B, cast["cadre_b"], cast["township"])
    reviewer2 = UserFactory(username="township2", role=Role.TOWNSHIP_REVIEWER, region=tree["410922101"])
    for code in TOWN2_VILLAGES:  # no cadre there: its reviewer reports for them (乡镇代报)
        _approved(campaign, code, reviewer2, reviewer2)
    town1, town2 = tree["410922100"], tree["410922101"]

    desk = Desk(browser, live_server, cast["county"])
    desk.sign_in("f01-county")
    page = desk.page
    box = page.locator("#inbox li", has_text="可县级审核的乡镇")
    expect(box).to_contain_text("可县级审核的乡镇：2 个")
    desk.shot("f02-county-home-to-sign-off")
    # A township's link leads to its row on the county's page, where the button is.
    box.get_by_role("link", name=town1.name, exact=True).click()
    expect(page).to_have_url(
        re.compile(rf"/survey/{campaign.pk}/progress/410922000000/#township-{town1.pk}$")
    )
    row = page.locator(f"#township-{town1.pk}")
    expect(row.get_by_role("button", name="县级审核")).to_be_visible()
    desk.shot("f03-county-progress-row")
    row.get_by_role("button", name="县级审核").click()
    expect(page.locator(".alert-success")).to_have_text(f"{town1.name}：2 个村（社区）县级审核通过。")
    expect(row.locator("td").last).to_have_text("县已审核")
    # Home again: the other township is signed off right there, after a confirmation.
    page.locator("nav.navbar").get_by_role("link", name="首页").click()
    expect(box).to_contain_text("可县级审核的乡镇：1 个")
    asked = len(desk.dialogs)
    box.locator("div", has_text=town2.name).get_by_role("button", name="县级审核").click()
    expect(page.locator(".alert-success")).to_have_text(f"{town2.name}：2 个村（社区）县级审核通过。")
    assert desk.dialogs[asked:] == [f"{town2.name}所有村（社区）将县级审核通过。确认？"]
    expect(box).to_contain_text("可县级审核的乡镇：0 个")
    # The county's page tells the signed townships apart from those only the township approved.
    page.locator("#inbox").get_by_role("link", name="进度").click()
    headings = page.locator("table").first.locator("thead th").all_inner_texts()
    rows = [_cells(page.locator(f"#township-{t.pk}")) for t in (town1, town2)]
    desk.shot("f04-county-signed-off")
    assert headings[:9] == [
        "区划",
        "村数",
        "未开始",
        "填报中",
        "已提交",
        "乡镇已审核",
        "县已审核",
        "逾期",
        "完成率",
    ]
    assert rows == [
        [town1.name, "2", "0", "0", "0", "0", "2", "0", "100.0%", "1", "0", "0", "县已审核"],
        [town2.name, "2", "0", "0", "0", "0", "2", "0", "100.0%", "0", "0", "0", "县已审核"],
    ]
    assert set(
        VillageReturn.objects.values_list("state", flat=True).filter(village__code__startswith="410922")
    ) == {ReturnState.COUNTY_APPROVED}
    desk.context.close()


# --- item 3: a locked village invites no entry ---------------------------------------------------

LOCKED_HOME = (
    "县1镇1村1本次摸底排查的报表已经审核，记录已锁定，不能再登记或修改。"
    "如需补录或更正，请联系乡镇审核员重新打开报表（县级已审核的，由县级民政重新打开）。 查看台账"
)
LOCKED_FORM = (
    "本村本次摸底排查的报表已经审核，记录已锁定，不能登记或修改。\n\n"
    "如需补录或更正，请联系乡镇审核员重新打开本村报表（县级已审核的，由县级民政重新打开）；重新打开后即可修改。\n\n"
    "返回"
)


def test_a_cadre_of_an_approved_village_is_offered_no_entry_on_a_phone(
    browser, live_server, cast, tree, campaign
):
    child = make_child(tree[A], name="王小雨")
    _approved(campaign, A, cast["cadre_a"], cast["township"])
    cadre = Phone(browser, live_server, cast["cadre_a"])
    cadre.sign_in("f10-cadre-locked")
    page = cadre.page
    entry = page.get_by_role("link", name=re.compile("登记|留守妇女|留守老人"))
    assert (page.locator("#quick-entry").count(), entry.count()) == (0, 0)
    expect(page.locator("#records-locked")).to_have_text(LOCKED_HOME)
    page.locator("#records-locked").get_by_role("link", name="查看台账").click()
    expect(page.locator("h1")).to_contain_text("留守儿童")
    assert entry.count() == 0
    cadre.shot("f11-cadre-locked-list")
    page.get_by_role("link", name=re.compile("王小雨")).click()
    expect(page.locator("h1")).to_contain_text("王小雨")
    assert (
        entry.count(),
        page.locator("#record-actions").get_by_role("link", name="修改", exact=True).count(),
    ) == (0, 0)
    expect(page.locator(".alert-info")).to_have_text(
        "本村本次摸底排查的报表已经审核，记录已锁定；如需修改，请联系乡镇审核员重新打开报表。"
    )
    cadre.shot("f12-cadre-locked-detail")
    # A bookmarked form says why and who reopens, before a field is offered.
    for url in ("/children/new/", f"/children/{child.pk}/edit/"):
        page.goto(url)
        expect(page.locator("#records-locked")).to_have_text(LOCKED_FORM)
        assert page.locator("form input:not([type=hidden]), form select, form textarea").count() == 0, url
    cadre.shot("f13-cadre-locked-form")
    cadre.context.close()


# --- item 5: 乡镇代报 ------------------------------------------------------------------------------


def test_a_township_enters_and_submits_for_a_village_without_a_cadre_and_the_county_sees_it(
    browser, live_server, cast, tree, campaign
):
    cast["cadre_b"].is_active = False
    cast["cadre_b"].save(update_fields=["is_active"])
    village = tree[B]
    reviewer = Phone(browser, live_server, cast["township"])
    reviewer.sign_in("f20-township")
    page = reviewer.page
    waiting = page.locator("#inbox li", has_text="待乡镇代报")
    expect(waiting).to_contain_text("没有村干部账号、待乡镇代报的村：1 个")
    waiting.get_by_role("link", name=village.name).click()
    expect(page.locator("#on-behalf-hint")).to_have_text(
        "本村没有村干部账号：您可以代村登记人员并提交本村报表（记为“乡镇代报”，县级可见）。"
    )
    reviewer.shot("f21-township-on-behalf-return")
    # The return's count of children opens the village's list, where the township registers one.
    page.get_by_role("row", name=re.compile("留守儿童")).get_by_role("link", name="0").click()
    page.get_by_role("link", name="+ 登记留守儿童").click()
    values = child_post_data(village, name="李小雪")
    del values["version"]
    reviewer.fill(values)
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("已登记留守儿童：李小雪")
    page.get_by_role("button", name="菜单").click()
    page.locator("nav.navbar").get_by_role("link", name="首页").click()
    waiting.get_by_role("link", name=village.name).click()
    page.get_by_role("button", name="提交本村报表").click()
    expect(page.locator("body")).to_contain_text("状态：已提交")
    expect(page.locator("#on-behalf")).to_have_text("乡镇代报")
    reviewer.shot("f22-township-submitted-on-behalf")
    reviewer.context.close()
    ret = _return(campaign, B)
    assert (ret.state, ret.submitted_on_behalf, ret.snapshot) == (
        ReturnState.SUBMITTED,
        True,
        {"child": 1, "woman": 0, "elder": 0},
    )

    county = Desk(browser, live_server, cast["county"])
    county.sign_in("f23-county")
    page = county.page
    page.locator("#inbox").get_by_role("link", name="进度").click()
    page.get_by_role("link", name=tree["410922100"].name, exact=True).click()
    page.get_by_role("link", name=village.name, exact=True).click()
    expect(page.locator("h1")).to_have_text(f"{village.name} · {campaign.name}")
    expect(page.locator("#on-behalf")).to_have_text("乡镇代报")
    expect(page.locator("#on-behalf").locator("xpath=..")).to_have_text(
        "乡镇代报 本村没有村干部账号，由乡镇审核员代村填报提交。"
    )
    assert page.locator("#on-behalf-hint").count() == 0
    county.shot("f24-county-sees-on-behalf")
    county.context.close()


# --- item 12: what an import says ----------------------------------------------------------------


def _rows_said(page):
    """How many rows the job's line under its heading says the file has (between its middle dots)."""
    line = page.get_by_text(re.compile("上传于")).inner_text()
    return re.search(r"· ([^·]*行[^·]*) ·", line).group(1)


PHONE_MESSAGE = "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）"


def test_county_uploads_a_filled_template_and_reads_rows_and_every_problem(
    browser, live_server, cast, tree, tmp_path
):
    rows = [_child(1), _child(2, **{"监护人电话": "12345", "父亲状况": "在家务农", "母亲状况": "在家务农"})]
    rows += [_child(3), _child(4)]
    roster = tmp_path / "清丰花名册.xlsx"
    roster.write_bytes(_template_with(rows))
    desk = Desk(browser, live_server, cast["county"])
    desk.sign_in("f30-county")
    page = desk.page
    page.locator("nav.navbar").get_by_role("link", name="导入花名册").click()
    page.get_by_label("留守儿童", exact=True).check()
    page.get_by_label("花名册文件").set_input_files(roster)
    page.get_by_label("仅导入有效行").check()
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-confirm")).to_be_visible()
    counts = page.locator("#import-counts .card")
    figures = dict(
        zip(
            counts.locator(".small").all_inner_texts(), counts.locator(".fs-5").all_inner_texts(), strict=True
        )
    )
    errors = [_cells(r) for r in page.locator("#import-errors tbody tr").all()]
    desk.shot("f31-county-import-preview")
    assert _rows_said(page) == "数据 4 行"
    assert figures == {"数据行": "4", "新增": "3", "更新": "0", "无变化": "0", "无效": "1"}
    assert errors == [
        ["第3行", "监护人电话", PHONE_MESSAGE],
        ["第3行", "整行", "父母均未外出务工，不属于留守儿童"],
    ]
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#import-outcome")).to_have_text("导入完成：新增 3 条，更新 0 条，跳过无效行 1 行。")
    desk.shot("f32-county-import-done")
    assert (_rows_said(page), page.locator("#import-pending-assessment").count()) == (
        "数据 4 行",
        0,
    )
    page.get_by_role("link", name="我的导入").click()
    line = page.locator(".list-group-item-action .small").inner_text()
    assert re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<时间>", line) == (
        "留守儿童 · <时间> · 数据 4 行 · 新增 3，更新 0，无变化 0，无效 1"
    )
    assert (ImportJob.objects.get().state, Child.objects.count()) == (ImportJob.State.DONE, 3)
    desk.context.close()
