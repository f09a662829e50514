"""Hostile roster files, written byte by byte (shared by tests/test_roster_hostile.py and
bench/hostile.py): each is tiny or ordinary-looking but asks a reader for far more than it holds."""

import io
import struct
import zipfile
import zlib

import xlwt

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
    """1 → A, 27 → AA, 10000 → NTP."""
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


def rows_workbook(count, *, dimension=True):
    """A header and ``count`` filled rows of one column (the probe's 300,000-row file: 716 KB),
    streamed into the zip; with a ``<dimension>`` as openpyxl and Excel write it, or without."""

    def sheet():
        declared = f'<dimension ref="A1:H{count + 1}"/>' if dimension else ""
        yield f"{SHEET_HEAD}{declared}<sheetData>{header_row()}".encode()
        for start in range(2, count + 2, 10_000):
            yield "".join(
                f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>儿童{r}</t></is></c></row>'
                for r in range(start, min(start + 10_000, count + 2))
            ).encode()
        yield b"</sheetData></worksheet>"

    return workbook(sheet())


def empty_rows_workbook(count):
    """A header and ``count`` rows that hold nothing: their cells styled (bordered), as a sheet
    formatted far below its data is saved."""

    def sheet():
        yield f'{SHEET_HEAD}<dimension ref="A1:H{count + 1}"/><sheetData>{header_row()}'.encode()
        for start in range(2, count + 2, 10_000):
            yield "".join(
                f'<row r="{r}">'
                + "".join(f'<c r="{column_letters(j)}{r}" s="1"/>' for j in range(1, 9))
                + "</row>"
                for r in range(start, min(start + 10_000, count + 2))
            ).encode()
        yield b"</sheetData></worksheet>"

    return workbook(sheet())


def wide_header(columns):
    """``columns`` real roster header names: the roster's own, then numbered 备注1, 备注2…"""
    return [*HEADER, *(f"备注{i}" for i in range(1, columns - len(HEADER) + 1))]


def wide_workbook(columns):
    """A header row of ``columns`` real header names and one row of data under it."""
    header = wide_header(columns)
    data = '<row r="2">' + inline_cell("A2", "张小明") + "</row>"
    return workbook(f"{SHEET_HEAD}<sheetData>{header_row(header)}{data}</sheetData></worksheet>")


def bomb_workbook(size=300 * 2**20):
    """A zip bomb: a sheet of ``size`` bytes of blank space (honest headers; 300 MB → 300 KB)."""

    def sheet():
        yield f"{SHEET_HEAD}<sheetData>{header_row()}".encode()
        blank = b" " * 2**20
        for _ in range(size // len(blank)):
            yield blank
        yield b"</sheetData></worksheet>"

    return workbook(sheet())


def lying_bomb_workbook(size=300 * 2**20):
    """A zip bomb whose headers lie: the sheet part declares a small size (and the CRC of its
    first bytes), but its deflate stream goes on to inflate to ``size`` bytes of cells (one row written again
    and again: 300 MB in 300 KB). A reader that trusts the header's size sees a two-row sheet;
    one that inflates the stream to its end holds millions of cells."""
    honest = rows_workbook(2, dimension=False)
    with zipfile.ZipFile(io.BytesIO(honest)) as source:
        sheet = source.read("xl/worksheets/sheet1.xml")
        end = sheet.index(b"</sheetData>")
        stream = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = b'<row r="3"><c r="A3"><v>1</v></c></row>' * 25_000  # 1 MB
        compressed = [stream.compress(sheet[:end])]
        compressed += [stream.compress(block) for _ in range(size // len(block))]
        compressed.append(stream.compress(sheet[end:]) + stream.flush())
        parts = []
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                declared = sheet[:end]  # what a reader that stops at the declared size gets
                parts.append((info.filename, b"".join(compressed), zlib.crc32(declared), len(declared)))
            else:
                squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
                parts.append(
                    (info.filename, squeeze.compress(data) + squeeze.flush(), zlib.crc32(data), len(data))
                )
    return _zip_of(parts)


def strings_workbook(count=3_000_000):
    """A two-row sheet whose shared-strings part lists ``count`` strings (the same one again and
    again: 3,000,000 of them, 51 MB, deflate to 100 KB), all loaded by a reader before any row."""
    honest = rows_workbook(1, dimension=False)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(honest)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/'
                    b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            target.writestr(info.filename, data)
        with target.open("xl/sharedStrings.xml", "w") as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (count, count)
            )
            block = b"<si><t>a</t></si>" * 10_000
            for _ in range(count // 10_000):
                part.write(block)
            part.write(b"<si><t>a</t></si>" * (count % 10_000) + b"</sst>")
    return out.getvalue()


def _zip_of(parts):
    """A zip of (name, deflated bytes, crc, declared size) written as given (no checks)."""
    out, central = io.BytesIO(), []
    for name, data, crc, size in parts:
        encoded = name.encode()
        offset = out.tell()
        fields = (20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0)
        out.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + encoded + data)
        central.append(
            b"PK\x01\x02"
            + struct.pack(
                "<HHHHHHIIIHHHHHII",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    out.write(b"".join(central))
    out.write(
        b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(parts), len(parts), out.tell() - start, start, 0)
    )
    return out.getvalue()


def xxe_workbook():
    """A sheet whose inline string is an external entity (file:///etc/passwd)."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'{header_row()}<row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return workbook(sheet)


def csv_rows(count, *, blank=False, header=HEADER):
    """A CSV roster: a header and ``count`` lines, each blank (only commas) or with one name."""
    line = "," * (len(header) - 1) if blank else "张小明" + "," * (len(header) - 1)
    return ("\n".join([",".join(header), *([line] * count)]) + "\n").encode()


def sparse_xls(row=60_000, column=10):
    """A legacy .xls with a header and one cell far below it (xlwt: at most 65,536 × 256)."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for j, name in enumerate(HEADER):
        sheet.write(0, j, name)
    sheet.write(row, column, 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def wide_xls(columns=256):
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for j, name in enumerate(wide_header(columns)):
        sheet.write(0, j, name)
    sheet.write(1, 0, "张小明")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def laughs_workbook():
    """Billion laughs: nine levels of entities, each ten of the one below, in the sheet XML."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'{header_row()}<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return workbook(sheet)
