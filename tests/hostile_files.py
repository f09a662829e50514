"""Hostile roster files, written byte by byte (shared by tests/test_roster_hostile.py and
bench/hostile.py): each is tiny or ordinary-looking but asks a reader for far more than it holds."""

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEADER = ["姓名", "身份证号", "村代码", "监护类型", "父亲状况", "母亲状况", "父亲务工地", "监护人身份证号"]


def column_letters(number):
    """1 → A, 27 → AA, 9998 → NTP."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def inline_cell(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row(header=HEADER):
    return (
        '<row r="1">'
        + "".join(inline_cell(f"{column_letters(i)}1", h) for i, h in enumerate(header, 1))
        + "</row>"
    )


def workbook(sheet_xml, *, name="Sheet1", compression=zipfile.ZIP_DEFLATED):
    """An xlsx holding one worksheet whose XML is ``sheet_xml`` (str or bytes, or an iterable of
    bytes chunks written one after the other)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK.format(name=name))
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        if isinstance(sheet_xml, str | bytes):
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        else:
            with archive.open("xl/worksheets/sheet1.xml", "w") as part:
                for chunk in sheet_xml:
                    part.write(chunk)
    return out.getvalue()


def sparse_workbook(*, dimension=True, column="NTP", row=150_000):
    """The probe's 2 KB workbook: a header row and one cell at ``column``/``row``; with or without
    a ``<dimension>`` claiming the whole range."""
    declared = f'<dimension ref="A1:{column}{row}"/>' if dimension else ""
    sheet = (
        f"{SHEET_HEAD}{declared}<sheetData>{header_row()}"
        f'<row r="{row}"><c r="{column}{row}"><v>1</v></c></row></sheetData></worksheet>'
    )
    return workbook(sheet)
