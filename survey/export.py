"""The 统计表 workbook: counties and their townships in the layout of the national form, one sheet
for the children and one each for the women and the elders (survey.statistics.PEOPLE_TABLES)."""

from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from survey.statistics import COLUMNS, GROUPS, PEOPLE_TABLES, mismatches, people_statistics

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def statistics_rows(region, children, grandchildren, top, sub):
    """[(label, level, stats)]: the 合计 row, then each child region followed by its own children."""
    rows = [("合计", 0, top[None])]
    for child in children:
        rows.append((child.name, 1, top[child.pk]))
        for grandchild in grandchildren:
            if grandchild.code.startswith(child.prefix):
                rows.append((f"  {grandchild.name}", 2, sub[grandchild.pk]))
    return rows


def people_rows(region, children, grandchildren, reference_date):
    """[(table, rows)] of the women's and elders' sheets, rows as :func:`statistics_rows` gives them."""
    result = []
    for table in PEOPLE_TABLES:
        top = people_statistics(table, region, children, reference_date)
        sub = people_statistics(table, region, grandchildren, reference_date) if grandchildren else {}
        result.append((table, statistics_rows(region, children, grandchildren, top, sub)))
    return result


def check(rows, columns=COLUMNS, groups=GROUPS):
    """Every 勾稽 mismatch of the table: within each row, and each level against the one above."""
    problems = [problem for label, _, stats in rows for problem in mismatches(stats, label.strip(), groups)]
    parents = {0: None, 1: None}
    sums = {}
    for index, (_, level, stats) in enumerate(rows):
        if level < 2:
            parents[level + 1] = index
        parent = parents.get(level)
        if parent is not None:
            for key, _ in columns:
                sums[(parent, key)] = sums.get((parent, key), 0) + stats[key]
    for (parent, key), total in sums.items():
        label, _, stats = rows[parent]
        if total != stats[key]:
            heading = dict(columns)[key]
            problems.append(f"{label.strip()}：下级{heading}之和 {total} 与本级 {stats[key]} 不符")
    return problems


CHILDREN_NOTE = "注：总数 = 男 + 女 = 各年龄段之和 = 双亲 + 单亲 = 各监护类型之和 = 在校 + 未入学 + 辍学。"


def workbook(*, title, unit, reference_date, rows, people=()):
    """The xlsx bytes: the children's sheet, then a sheet per ``people`` table ((table, rows), from
    :func:`people_rows`); each with title, 填报单位/基准日 line, two-level header, rows, signature block."""
    wb = Workbook()
    ws = wb.active
    ws.title = "留守儿童统计表"
    _sheet(ws, title, unit, reference_date, COLUMNS, GROUPS, rows, CHILDREN_NOTE)
    for table, table_rows in people:
        sheet_title = title.replace("留守儿童统计表", table.sheet)
        sheet = wb.create_sheet(table.sheet)
        _sheet(sheet, sheet_title, unit, reference_date, table.headings, table.groups, table_rows, table.note)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet(ws, title, unit, reference_date, columns, groups, rows, note):
    width = 1 + len(columns)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1, title).font = Font(size=16, bold=True)
    ws.cell(1, 1).alignment = CENTER
    ws.cell(2, 1, f"填报单位（盖章）：{unit}")
    ws.cell(2, max(width - 4, 2), f"统计基准日：{reference_date:%Y年%m月%d日}")

    grouped = {key: group for group, keys in groups for key in keys}
    ws.cell(3, 1, "区划").alignment = CENTER
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    column = 2
    for key, heading in columns:
        group = grouped.get(key)
        if group is None:
            ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
            ws.cell(3, column, heading)
        else:
            keys = next(k for g, k in groups if g == group)
            if key == keys[0]:
                ws.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + len(keys) - 1)
                ws.cell(3, column, group)
            ws.cell(4, column, heading)
        column += 1
    for row in ws.iter_rows(min_row=3, max_row=4, max_col=width):
        for cell in row:
            cell.alignment, cell.border, cell.font = CENTER, BOX, Font(bold=True)

    for offset, (label, level, stats) in enumerate(rows):
        r = 5 + offset
        ws.cell(r, 1, label).font = Font(bold=level < 2)
        for index, (key, _) in enumerate(columns, start=2):
            ws.cell(r, index, stats[key])
        for cell in ws[r][:width]:
            cell.border = BOX

    r = 6 + len(rows)
    ws.cell(r, 1, "单位负责人：")
    ws.cell(r, 5, "填表人：")
    ws.cell(r, 9, "复核人：")
    ws.cell(r, 13, f"填报日期：{timezone.localdate():%Y年%m月%d日}")
    ws.cell(r + 1, 1, note)

    ws.column_dimensions["A"].width = 18
    for index in range(2, width + 1):
        ws.column_dimensions[get_column_letter(index)].width = 8
    ws.freeze_panes = "B5"
    ws.print_title_rows = "3:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
