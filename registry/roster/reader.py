"""Read a roster file whatever it is called: the format is decided by its first bytes.

- ``.xlsx`` (a zip): refused if it is a macro workbook, would unpack to more than
  :data:`MAX_UNCOMPRESSED_BYTES` (a zip bomb) or carries a DTD / entity declaration in any
  XML part (billion laughs, external entities: checked with defusedxml), then read with
  python-calamine, which is fast but holds the whole sheet (about 3 KB per row of 27 columns);
  a workbook with a sheet bigger than :data:`STREAM_SHEET_BYTES` of XML is instead streamed row
  by row with openpyxl's read-only mode (slower, but its memory stays flat);
- legacy ``.xls`` (OLE2 compound file, at most 65,536 rows): python-calamine;
- anything else is taken as CSV text in UTF-8 (with or without BOM) or GBK/GB18030, streamed.

A sheet gives its rows as ``(row_number, cells)`` afresh on every :meth:`Sheet.rows` call:
1-based spreadsheet row numbers (a CSV's line numbers), so every message can point at the row
the person sees. An empty cell is ``None`` or ``""`` (the readers differ), a number an int or a
float: the normalisers take either.
"""

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

# Limits of what an upload or command may hand us (settings-like: change here, not inline).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 200_000
# A worksheet whose XML unpacks to more than this is streamed, not loaded whole: 32 MB is about
# 20,000 rows written with inline strings, 35,000 with shared strings (python-calamine: ~100 MB).
STREAM_SHEET_BYTES = 32 * 1024 * 1024
WORKSHEET_PARTS = "xl/worksheets/"

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MACRO_CONTENT_TYPE = "macroEnabled"
XML_PARTS = (".xml", ".rels", ".vml")

TOO_BIG = "文件过大（超过{limit}MB），请拆分后分批导入。"
MACRO = "这是启用宏的工作簿（.xlsm），为安全起见不能导入：请在 Excel/WPS 中“另存为” .xlsx 格式后再导入。"
BOMB = "文件解压后过大（超过{limit}MB），可能已损坏或不是正常的花名册，已拒绝导入。"
NOT_SPREADSHEET = "无法识别的文件：请上传 Excel（.xlsx、.xls）或 CSV 文件。"
UNREADABLE = "文件已损坏或无法读取，请用 Excel/WPS 打开后重新保存再导入。"
ENCODING = "CSV 文件的字符编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或直接上传 Excel 文件。"
UNSAFE_XML = "文件包含不安全的 XML 内容（实体声明），已拒绝导入。"
TOO_MANY_ROWS = "文件行数超过{limit}行，请拆分后分批导入。"
# What openpyxl may raise on a broken part (defusedxml has vetted the XML for attacks already).
_STREAM_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, SafeElementTree.ParseError)


class RosterFileError(Exception):
    """The file as a whole cannot be read; the message is for the person who uploaded it."""


@dataclass
class Sheet:
    name: str
    height: int  # the rows it holds, blank ones included (as declared, for a streamed sheet)
    read: Callable[[], Iterator]  # → (row_number, [cell, ...]) for every row, from the top

    def rows(self):
        return self.read()

    def head(self, count):
        """Its first ``count`` rows, as a list."""
        return list(islice(self.rows(), count))


def read_roster(content):
    """The sheets of the roster in ``content`` (bytes), visible worksheets only, in order."""
    if len(content) > MAX_FILE_BYTES:
        raise RosterFileError(TOO_BIG.format(limit=MAX_FILE_BYTES // 2**20))
    if content.startswith(ZIP_MAGIC):
        if _check_xlsx_archive(content) > STREAM_SHEET_BYTES:
            return _stream_workbook(content)
        return _read_workbook(content)
    if content.startswith(OLE2_MAGIC):
        return _read_workbook(content)
    return [_read_csv(content)]


def _check_xlsx_archive(content):
    """Refuse a macro workbook, a zip bomb and XML with a DTD before python-calamine reads it.

    OOXML never has a DTD, so a DOCTYPE or ENTITY in any part is an attack (entity expansion,
    external entities): every XML part's prolog is parsed with defusedxml up to its root
    element, and [Content_Types].xml and xl/workbook.xml in full. Returns the unpacked size of
    the biggest worksheet.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise RosterFileError(UNREADABLE) from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise RosterFileError(NOT_SPREADSHEET)
        if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
            raise RosterFileError(BOMB.format(limit=MAX_UNCOMPRESSED_BYTES // 2**20))
        content_types = archive.read("[Content_Types].xml")
        if MACRO_CONTENT_TYPE.encode() in content_types or "xl/vbaProject.bin" in names:
            raise RosterFileError(MACRO)
        try:
            for name in ("[Content_Types].xml", "xl/workbook.xml"):
                SafeElementTree.fromstring(archive.read(name), forbid_dtd=True)
            for info in infos:
                if info.filename.lower().endswith(XML_PARTS):
                    _check_prolog(archive, info)
        except DefusedXmlException:
            raise RosterFileError(UNSAFE_XML) from None
        except (SafeElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
            raise RosterFileError(UNREADABLE) from None
        return max((i.file_size for i in infos if i.filename.startswith(WORKSHEET_PARTS)), default=0)


def _check_prolog(archive, info):
    """Parse ``info``'s part up to its root element: a DTD, if any, comes before it."""
    with archive.open(info) as part:
        for _ in SafeElementTree.iterparse(part, events=("start",), forbid_dtd=True):
            return


def _read_workbook(content):
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = []
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
                continue
            cells = workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            if len(cells) > MAX_ROWS:
                raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
            sheets.append(Sheet(meta.name, len(cells), lambda cells=cells: enumerate(cells, start=1)))
    except (CalamineError, ValueError, OSError):
        raise RosterFileError(UNREADABLE) from None
    return sheets


def _stream_workbook(content):
    """The visible worksheets of a big xlsx, each read row by row when asked (openpyxl read-only:
    defusedxml parses the XML, the shared strings are held, the rows are not)."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheets = []
        for worksheet in workbook.worksheets:
            if worksheet.sheet_state != "visible":
                continue
            height = worksheet.max_row or MAX_ROWS  # no declared dimension: assume the most
            if height > MAX_ROWS and worksheet.max_row:
                raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
            sheets.append(Sheet(worksheet.title, height, partial(_stream_rows, content, worksheet.title)))
        workbook.close()
    except _STREAM_ERRORS:
        raise RosterFileError(UNREADABLE) from None
    return sheets


def _stream_rows(content, title):
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        for number, cells in enumerate(workbook[title].iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
            yield number, list(cells)
    except _STREAM_ERRORS:
        raise RosterFileError(UNREADABLE) from None
    finally:
        workbook.close()


def _decode(content):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError(ENCODING)


def _read_csv(content):
    """The CSV as one sheet, read through once here (so that a broken or too long file is refused
    before anything else) and again, row by row, whenever its rows are asked for."""
    if b"\x00" in content[:4096]:
        raise RosterFileError(NOT_SPREADSHEET)
    text = _decode(content)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        try:
            for count, cells in enumerate(reader, start=1):
                if count > MAX_ROWS:
                    raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
                # line_num is the physical line the record ended on: a quoted cell may span lines.
                yield reader.line_num, cells
        except csv.Error:
            raise RosterFileError(UNREADABLE) from None

    height = sum(1 for _ in rows())
    return Sheet("CSV", height, rows)
