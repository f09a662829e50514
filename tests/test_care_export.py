"""Care lists as xlsx (issue 15 §7): the rows the pages show, codes as text, formulas escaped, an
abuse case's content hidden from whom may not read it, no ID or phone in a referral list."""

from datetime import timedelta

import pytest
from openpyxl import load_workbook

from accounts.models import Organisation, OrganisationKind
from care import cases, export, listing
from care.services import levels
from tests.factories import make_child
from workflow import clock

A = "410922100201"


def _rows(result):
    sheet = load_workbook(result.file).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_children_list_as_the_page_lists_it(tree):
    make_child(tree[A], name="=HYPERLINK(1)", schooling="dropped_out")
    on = clock.today()
    rows = listing.rows(listing.children_in(tree[A], on, level_rows=levels()), on, levels())
    result = export.children_workbook(rows)
    got = _rows(result)
    assert result.rows == 1
    assert got[0] == export.CHILD_HEADER
    assert got[1][:4] == ["县1镇1村1", A, "'=HYPERLINK(1)", "男"]
    assert got[1][5:] == ["二级", "从未走访", got[1][7], "未到期"]
    assert got[1][7].date() == on + timedelta(days=15)


@pytest.mark.parametrize(("who", "shown"), [("county", True), ("cadre_a", False)])
def test_a_case_list_hides_an_abuse_cases_content_from_whom_may_not_read_it(cast, tree, who, shown):
    child = make_child(tree[A], name="李小花")
    case = cases.case_open(
        user=cast["cadre_a"], village=tree[A], child=child, kind="domestic_violence", description="伤"
    )
    got = _rows(export.cases_workbook([case], cast[who]))
    assert got[1][:7] == [
        case.pk,
        "县1镇1村1",
        A,
        "李小花" if shown else export.HIDDEN,
        "疑似遭受家庭暴力" if shown else export.HIDDEN,
        "一般",
        "待受理",
    ]


def test_a_referral_list_carries_no_id_or_phone(cast, tree):
    unit = Organisation.objects.create(
        name="市教育局", code="education", kind=OrganisationKind.MEMBER_UNIT, region=tree["4109"]
    )
    child = make_child(tree[A], name="王小明")
    referral = cases.referral_create(
        user=cast["cadre_a"], child=child, unit=unit, need="劝返", due_on=clock.today() + timedelta(days=3)
    )
    got = _rows(export.referrals_workbook([referral]))
    assert got[0] == export.REFERRAL_HEADER
    assert got[1][:6] == [referral.pk, "市教育局", "县1镇1村1", A, "王小明", "劝返"]
    assert child.id_number not in repr(got) and child.guardian_phone not in repr(got)
