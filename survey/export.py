"""The 统计表 workbook: counties and their townships in the layout of the national form."""

from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from survey.statistics import COLUMNS, GROUPS, mismatches

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


def check(rows):
    """Every 勾稽 mismatch of the table: within each row, and each level against the one above."""
    problems = [problem for label, _, stats in rows for problem in mismatches(stats, label.strip())]
    parents = {0: None, 1: None}
    sums = {}
    for index, (_, level, stats) in enumerate(rows):
        if level < 2:
            parents[level + 1] = index
        parent = parents.get(level)
        if parent is not None:
            for key, _ in COLUMNS:
                sums[(parent, key)] = sums.get((parent, key), 0) + stats[key]
    for (parent, key), total in sums.items():
        label, _, stats = rows[parent]
        if total != stats[key]:
            heading = dict(COLUMNS)[key]
            problems.append(f"{label.strip()}：下级{heading}之和 {total} 与本级 {stats[key]} 不符")
    return problems


def workbook(*, title, unit, reference_date, rows):
    """The xlsx bytes: title, 填报单位/基准日 line, two-level header, rows, signature block."""
    wb = Workbook()
    ws = wb.active
    ws.title = "留守儿童统计表"
    width = 1 + len(COLUMNS)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1, title).font = Font(size=16, bold=True)
    ws.cell(1, 1).alignment = CENTER
    ws.cell(2, 1, f"填报单位（盖章）：{unit}")
    ws.cell(2, width - 4, f"统计基准日：{reference_date:%Y年%m月%d日}")

    grouped = {key: group for group, keys in GROUPS for key in keys}
    ws.cell(3, 1, "区划").alignment = CENTER
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    column = 2
    for key, heading in COLUMNS:
        group = grouped.get(key)
        if group is None:
            ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
            ws.cell(3, column, heading)
        else:
            keys = next(k for g, k in GROUPS if g == group)
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
        for index, (key, _) in enumerate(COLUMNS, start=2):
            ws.cell(r, index, stats[key])
        for cell in ws[r][:width]:
            cell.border = BOX

    r = 6 + len(rows)
    ws.cell(r, 1, "单位负责人：")
    ws.cell(r, 5, "填表人：")
    ws.cell(r, 9, "复核人：")
    ws.cell(r, 13, f"填报日期：{timezone.localdate():%Y年%m月%d日}")
    ws.cell(
        r + 1, 1, "注：总数 = 男 + 女 = 各年龄段之和 = 双亲 + 单亲 = 各监护类型之和 = 在校 + 未入学 + 辍学。"
    )

    ws.column_dimensions["A"].width = 18
    for index in range(2, width + 1):
        ws.column_dimensions[get_column_letter(index)].width = 8
    ws.freeze_panes = "B5"
    ws.print_title_rows = "3:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
