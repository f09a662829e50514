"""The invalid rows of an import as a workbook to fix and import again (issue 5).

The file's own header (the recognised columns, as the file labels them), a first column 原行号
and a last column 错误原因; one row per invalid row with its cells as they were read. ID,
phone and code columns are text cells, so fixing them in Excel cannot round them again; a
cell that starts with ``=`` stays text, never a formula.
"""

import datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

ROW_NUMBER = "原行号"
REASONS = "错误原因"
SHEET_TITLE = "无效行"


def is_text_column(column):
    """Columns whose digits are an identifier, never a number: IDs, phones, region codes."""
    return column.endswith(("身份证号", "电话", "代码"))


def row_reasons(row):
    """All of a row's messages on one line: "第5行 身份证号：…；监护人电话：…"."""
    return f"第{row.row}行 " + "；".join(f"{error.column}：{error.message}" for error in row.errors)


def _cell_value(raw, text):
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and raw.is_integer() and (text or abs(raw) >= 1e15):
        raw = str(int(Decimal(repr(raw))))  # the digits Excel shows, not the binary's
    elif isinstance(raw, bool):
        raw = "是" if raw else "否"
    elif text and not isinstance(raw, str):
        raw = str(raw)
    if isinstance(raw, str):
        # openpyxl refuses the control characters the import refuses too: drop them here.
        raw = ILLEGAL_CHARACTERS_RE.sub("", raw)
    return raw


def invalid_rows_workbook(result):
    """The xlsx bytes of ``result``'s invalid rows (an :class:`~registry.roster.pipeline.ImportResult`)."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    columns = [column for column, _ in result.columns]
    header = [ROW_NUMBER, *(label for _, label in result.columns), REASONS]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)

    for r, row in enumerate(result.invalid_rows, start=2):
        sheet.cell(r, 1, row.row)
        for c, column in enumerate(columns, start=2):
            text = is_text_column(column)
            # A row refused only when written (its ID claimed meanwhile) kept no raw cells.
            value = _cell_value((row.values or {}).get(column), text)
            cell = sheet.cell(r, c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # literal text, even "=HYPERLINK(…)"
            if text:
                cell.number_format = "@"
            elif isinstance(value, datetime.date | datetime.datetime):
                cell.number_format = "yyyy-mm-dd"
        reasons = sheet.cell(r, len(header), row_reasons(row))
        reasons.data_type = "s"
        reasons.alignment = Alignment(wrap_text=True, vertical="top")

    for c, column in enumerate(columns, start=2):
        sheet.column_dimensions[sheet.cell(1, c).column_letter].width = 20 if is_text_column(column) else 12
    sheet.column_dimensions[sheet.cell(1, len(header)).column_letter].width = 60
    sheet.freeze_panes = "B2"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
