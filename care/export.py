"""The care lists as xlsx workbooks (issue 15 §7): what each list page shows, row for row.

Written with registry/export.py's rules (write-only workbook to a temporary file, codes as text,
dates as dates, formula injection escaped). Masked per role as the pages are: a list of cases
shows an abuse case's content only to whom may read it (policy.can_read_case); a liaison's list
of referrals carries the child's name and village, never an ID or phone number.
"""

import tempfile
from datetime import date, datetime

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from accounts import policy
from registry.export import DATE_FORMAT, TEXT_FORMAT, Export, escape_formula

HIDDEN = "（内容限定可见）"


def write_table(title, header, rows, *, text_columns=()):
    """A one-sheet workbook: ``header`` in bold, then ``rows`` (lists of values); columns of
    ``text_columns`` (indexes) are text cells. Returns an ``Export`` (the open temporary file)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    bold = Font(bold=True)
    head = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value, text=i in text_columns) for i, value in enumerate(row)])
        count += 1
    stream = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(stream)
    stream.seek(0)
    return Export(file=stream, rows=count)


def _cell(sheet, value, *, text=False):
    if isinstance(value, datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        value = escape_formula(value)
    if not (text or isinstance(value, date)):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = TEXT_FORMAT if text else DATE_FORMAT
    return cell


CHILD_HEADER = [
    "村（社区）",
    "村代码",
    "姓名",
    "性别",
    "出生日期",
    "风险等级",
    "最近走访",
    "应访日期",
    "走访状态",
]


def children_workbook(rows):
    """The children of a care list (care.listing.CareRow, with their child and village)."""
    return write_table(
        "关爱名单",
        CHILD_HEADER,
        (
            [
                row.child.village.name,
                row.child.village_code,
                row.child.name,
                row.child.get_sex_display(),
                row.child.birth_date,
                row.level.name,
                row.care.last_visit_on or "从未走访",
                row.due_on,
                row.state_label,
            ]
            for row in rows
        ),
        text_columns=(1,),
    )


CASE_HEADER = [
    "个案编号",
    "村（社区）",
    "村代码",
    "儿童",
    "情形",
    "紧急程度",
    "状态",
    "报告时间",
    "当前环节期限",
    "督办",
]


def cases_workbook(cases, user):
    """Cases (with child and village), an abuse case's child and kind hidden from whom may not read it."""

    def row(case):
        readable = policy.can_read_case(user, case)
        child = case.child.name if case.child_id else f"{case.provisional_name}（尚未登记）"
        return [
            case.pk,
            case.village.name,
            case.village_code,
            child if readable else HIDDEN,
            case.get_kind_display() if readable else HIDDEN,
            case.get_urgency_display(),
            case.get_state_display(),
            case.reported_at,
            case.deadline_at or "",
            case.get_escalation_display(),
        ]

    return write_table("个案", CASE_HEADER, (row(case) for case in cases), text_columns=(2,))


REFERRAL_HEADER = [
    "转介编号",
    "转介单位",
    "村（社区）",
    "村代码",
    "儿童",
    "事项",
    "办理期限",
    "状态",
    "办理情况",
]


def referrals_workbook(referrals):
    """Referrals (with unit, child and village): no ID or phone number, for any role."""
    return write_table(
        "转介",
        REFERRAL_HEADER,
        (
            [
                r.pk,
                r.unit.name,
                r.child.village.name,
                r.village_code,
                r.child.name,
                r.need,
                r.due_on,
                r.get_state_display(),
                r.answer,
            ]
            for r in referrals
        ),
        text_columns=(3,),
    )
