"""Read a roster file whatever it is called: the format is decided by its first bytes.

Every file is first *checked* (:func:`check_roster`) in a forked child process that may use
only :data:`CHECK_MEMORY_BYTES` more memory and :data:`CHECK_SECONDS` of time: how far each
sheet reaches is read from the file itself — the sheet XML's ``<dimension>``, ``<row r=…>`` and
``<c r=…>`` (declared and referenced), the .xls sheet's range, the CSV's lines — without
building a grid, and a sheet past :data:`MAX_ROWS` rows or :data:`MAX_COLUMNS` columns, or
holding more than :data:`MAX_BLANK_ROWS` blank rows, is refused in plain Chinese. A child that
runs out of memory or time (a file built to make a reader allocate 48 GB) is a refusal too,
never a dead server process. Then it is read:

- ``.xlsx`` (a zip): refused if it is a macro workbook, would unpack to more than
  :data:`MAX_UNCOMPRESSED_BYTES` (a zip bomb) or carries a DTD / entity declaration in any
  XML part (billion laughs, external entities: checked with defusedxml), then read with
  python-calamine, which is fast but holds the whole sheet as a dense grid (about 3 KB per row
  of 27 columns); a workbook with a sheet bigger than :data:`STREAM_SHEET_BYTES` of XML, or
  whose range spans more than :data:`CALAMINE_MAX_CELLS` cells, is instead streamed row by row
  with openpyxl's read-only mode (slower, but its memory stays flat);
- legacy ``.xls`` (OLE2 compound file, at most 65,536 rows): python-calamine, the range at most
  :data:`XLS_MAX_CELLS` cells;
- anything else is taken as CSV text in UTF-8 (with or without BOM) or GBK/GB18030, streamed.

A sheet gives its rows as ``(row_number, cells)`` afresh on every :meth:`Sheet.rows` call:
1-based spreadsheet row numbers (a CSV's line numbers), so every message can point at the row
the person sees. An empty cell is ``None`` or ``""`` (the readers differ), a number an int or a
float: the normalisers take either.
"""

import csv
import faulthandler
import hashlib
import io
import itertools
import json
import logging
import os
import posixpath
import re
import resource
import select
import signal
import struct
import time
import traceback
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from itertools import islice
from xml.parsers import expat

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

logger = logging.getLogger(__name__)

# Limits of what an upload or command may hand us (settings-like: change here, not inline).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 200_000
# The widest real roster has about 45 columns (the template 27).
MAX_COLUMNS = 200
# Blank rows (no non-blank cell) a sheet may hold inside its range: a few between sections are
# normal, a sheet formatted or typed into far below its data is refused with EMPTY_ROWS.
MAX_BLANK_ROWS = 10_000
# A worksheet whose XML unpacks to more than this is streamed, not loaded whole: 32 MB is about
# 20,000 rows written with inline strings, 35,000 with shared strings (python-calamine: ~100 MB).
STREAM_SHEET_BYTES = 32 * 1024 * 1024
# python-calamine allocates rows × columns cells of 32 bytes for a sheet's range, however few it
# holds: past this many (64 MB) an xlsx is streamed instead, an .xls (which only calamine reads)
# refused. 35,000 rows × 45 columns is 1.6 million; 65,536 × 64 is XLS_MAX_CELLS.
CALAMINE_MAX_CELLS = 2_000_000
XLS_MAX_CELLS = 65_536 * 64
# Shared strings (<si>) a workbook may hold: both readers load them all before the first row
# (about 50 bytes each as Python strings). 10 distinct texts a row at the row limit.
MAX_SHARED_STRINGS = 2_000_000
# The checking child: memory it may allocate beyond what it shares with its parent, and time.
CHECK_MEMORY_BYTES = 512 * 1024 * 1024
CHECK_SECONDS = 60
# Files that passed the check in this process, by digest and limits (see check_roster).
CHECKED_KEEP = 8
_CHECKED = {}
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
DECLARED_TOO_MANY_ROWS = (
    "工作表“{sheet}”的范围达{rows}行，超过{limit}行的上限：请拆分后分批导入；"
    "如果其中多是空行，请删除多余的空行后重新保存。"
)
EMPTY_ROWS = (
    "工作表“{sheet}”有大片空白区域：到第{rows}行为止只有{filled}行有内容。"
    "请删除多余的空行后重新保存，再导入。"
)
TOO_MANY_COLUMNS = "工作表“{sheet}”有{columns}列，超过{limit}列的上限：请删除多余的列后重新保存，再导入。"
EMPTY_COLUMNS = (
    "工作表“{sheet}”有大片空白区域：范围到第{columns}列，超过{limit}列的上限，其中多是空列。"
    "请删除多余的空列后重新保存，再导入。"
)
XLS_TOO_BIG = (
    "工作表“{sheet}”的范围过大（{rows}行 × {columns}列）：请删除多余的空行、空列，"
    "或另存为 .xlsx 格式后再导入。"
)
TOO_MANY_STRINGS = "文件中的文字条目过多（超过{limit}条），可能已损坏或不是正常的花名册，已拒绝导入。"
CHECK_FAILED = (
    "读取文件时超出了内存或时间的限制，已拒绝导入：请确认这是正常的花名册，"
    "删除多余的空行、空列后重新保存再导入。"
)
# What openpyxl may raise on a broken part (defusedxml has vetted the XML for attacks already).
_STREAM_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, SafeElementTree.ParseError)
# What reading a broken file may raise in the checking child (refused as UNREADABLE).
_CHECK_ERRORS = (
    CalamineError,
    ValueError,
    OSError,
    KeyError,
    zipfile.BadZipFile,
    csv.Error,
    expat.ExpatError,
    SafeElementTree.ParseError,
)


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


@dataclass(frozen=True)
class Extent:
    """How far a sheet reaches, as its file declares and references it (not as a reader would
    build it): its last row and column, the rows with a non-blank cell, and the columns that
    hold a cell at all (counted in full only for a sheet that reaches past MAX_COLUMNS, where
    it tells too many columns from a far stray cell)."""

    name: str
    rows: int
    columns: int
    filled: int
    columns_used: int
    visible: bool = True
    xml_bytes: int = 0  # an xlsx worksheet's unpacked XML

    @property
    def cells(self):
        return self.rows * self.columns


def read_roster(content):
    """The sheets of the roster in ``content`` (bytes), visible worksheets only, in order.

    The file is checked first (:func:`check_roster`): what passes is within the limits, so the
    reader chosen for it holds at most what the limits allow."""
    extents = check_roster(content)
    if content.startswith(ZIP_MAGIC):
        if any(e.xml_bytes > STREAM_SHEET_BYTES or e.cells > CALAMINE_MAX_CELLS for e in extents):
            return _stream_workbook(content)
        return _read_workbook(content)
    if content.startswith(OLE2_MAGIC):
        return _read_workbook(content)
    return [_read_csv(content)]


def check_roster(content):
    """How far each sheet of ``content`` reaches (a list of :class:`Extent`, hidden sheets too),
    or :class:`RosterFileError` for a file past a limit, unsafe or unreadable.

    Runs in a child process limited in memory and time (:func:`_in_child`): nothing the file
    asks for can take this process down. A streamed scan of the sheet XML (about half the time
    python-calamine takes to read the same sheet), a refusal of an over-declared sheet at its
    first bytes. The last few files that passed are remembered by digest (and the limits they
    passed), so that a preview and its commit, or an upload's row count and its preview, check
    a file once in a process (bench/roster_import.py)."""
    key = (hashlib.blake2b(content, digest_size=16).digest(), _limits())
    if key not in _CHECKED:
        extents = [Extent(**fields) for fields in _in_child(_inspect, content)]
        while len(_CHECKED) >= CHECKED_KEEP:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = extents
    return list(_CHECKED[key])


def _limits():
    return (
        MAX_FILE_BYTES,
        MAX_UNCOMPRESSED_BYTES,
        MAX_ROWS,
        MAX_COLUMNS,
        MAX_BLANK_ROWS,
        MAX_SHARED_STRINGS,
        XLS_MAX_CELLS,
    )


def roster_height(content):
    """The rows of the roster's visible sheets that hold something (the header and title rows
    too, not a template's formatted empty rows), as :func:`check_roster` finds them (a file past
    the limits raises)."""
    return sum(extent.filled for extent in check_roster(content) if extent.visible)


# --- the check, in the child --------------------------------------------------------------------


def _inspect(content):
    if len(content) > MAX_FILE_BYTES:
        raise RosterFileError(TOO_BIG.format(limit=MAX_FILE_BYTES // 2**20))
    if content.startswith(ZIP_MAGIC):
        extents = _xlsx_extents(content)
    elif content.startswith(OLE2_MAGIC):
        extents = _xls_extents(content)
    else:
        extents = [_csv_extent(content)]
    for extent in extents:
        _judge(extent)
    return [asdict(extent) for extent in extents]


def _judge(extent):
    """Refuse ``extent`` past a limit, with the message that says what to do about it."""
    sheet = extent.name
    if extent.filled > MAX_ROWS:
        raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
    if extent.rows - extent.filled > MAX_BLANK_ROWS:
        raise RosterFileError(EMPTY_ROWS.format(sheet=sheet, rows=extent.rows, filled=extent.filled))
    if extent.rows > MAX_ROWS:
        raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
    if extent.columns > MAX_COLUMNS:
        if extent.columns_used > MAX_COLUMNS:
            raise RosterFileError(
                TOO_MANY_COLUMNS.format(sheet=sheet, columns=extent.columns, limit=MAX_COLUMNS)
            )
        raise RosterFileError(EMPTY_COLUMNS.format(sheet=sheet, columns=extent.columns, limit=MAX_COLUMNS))


def _judge_early(extent):
    """Refuse at once, while a sheet is still being read, what is already past the row or
    column limit; blank rows (and the declared range, which rows not reached yet may fill) are
    judged once the whole sheet is read, so that the message counts them all."""
    if extent.filled > MAX_ROWS or extent.rows > MAX_ROWS or extent.columns > MAX_COLUMNS:
        _judge(extent)


def _xlsx_extents(content):
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise RosterFileError(UNREADABLE) from None
    with archive:
        workbook = _check_xlsx_archive(archive)
        sheets = {part: (name, visible) for part, name, visible in _worksheet_parts(archive, workbook)}
        extents = []
        strings = 0
        for info in archive.infolist():
            if info.filename not in sheets:
                for chunk in _inflated(archive, info):  # its true size, and the strings it holds
                    strings += sum(chunk.count(tag) for tag in (b"<si>", b"<si ", b":si>", b":si "))
                if strings > MAX_SHARED_STRINGS:
                    raise RosterFileError(TOO_MANY_STRINGS.format(limit=MAX_SHARED_STRINGS))
                continue
            name, visible = sheets[info.filename]
            scan = _SheetScan(name)
            scan.feed_all(partial(_inflated, archive, info, content))
            extent = scan.extent(visible=visible, xml_bytes=info.file_size)
            _judge(extent)  # at once: the next sheet may be big
            extents.append(extent)
        return extents


def _inflated(archive, info, content=None):
    """``info``'s part in chunks of at most _CHUNK_BYTES, as its compressed bytes really
    inflate: a part that inflates to more (or less) than its header declares is refused — the
    declared sizes are what the zip-bomb limit counted, a lying header must not get past it.
    ``content``: the bytes ``archive`` reads, if at hand (its part is then not copied)."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise RosterFileError(UNREADABLE)  # Excel and WPS write deflate only, never encrypted
    fp = archive.fp
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise RosterFileError(UNREADABLE)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    if content is not None:  # the archive's bytes, in memory already: not copied
        compressed = memoryview(content)[start : start + info.compress_size]
    else:
        fp.seek(start)
        compressed = memoryview(fp.read(info.compress_size))
    if info.compress_type == zipfile.ZIP_STORED:
        chunks = (bytes(compressed[i : i + _CHUNK_BYTES]) for i in range(0, len(compressed), _CHUNK_BYTES))
        inflater = None
    else:
        inflater = zlib.decompressobj(-15)
        chunks = _inflate(inflater, compressed)
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > info.file_size:
            raise RosterFileError(BOMB.format(limit=MAX_UNCOMPRESSED_BYTES // 2**20))
        yield chunk
    if size != info.file_size or (inflater is not None and not inflater.eof):
        raise RosterFileError(UNREADABLE)


def _inflate(inflater, compressed):
    """``compressed`` (a memoryview) inflated, fed a piece at a time: fed whole, every call
    would copy what is left of it as ``unconsumed_tail`` — quadratic in the part's size (issue 14
    item 7: the check of a 100,000-row sheet copied gigabytes)."""
    for start in range(0, len(compressed), _CHUNK_BYTES):
        chunk = inflater.decompress(compressed[start : start + _CHUNK_BYTES], _CHUNK_BYTES)
        while chunk:
            yield chunk
            chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK_BYTES)


def _worksheet_parts(archive, workbook):
    """(part, sheet name, visible) of the workbook's sheets, as python-calamine finds them
    (workbook.xml's sheets through its relationships), then any other part under
    xl/worksheets/ (named by its file)."""
    names = set(archive.namelist())
    rels = {}
    if "xl/_rels/workbook.xml.rels" in names:
        root = SafeElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
        for rel in root:
            target = rel.get("Target") or ""
            part = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
            rels[rel.get("Id")] = part
    found = []
    for sheet in workbook.iter():
        if sheet.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rel_id = next((v for k, v in sheet.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        part = rels.get(rel_id)
        if part in names and part not in {p for p, _, _ in found}:
            found.append((part, sheet.get("name") or part, sheet.get("state", "visible") == "visible"))
    listed = {p for p, _, _ in found}
    for part in sorted(names):
        if part.startswith(WORKSHEET_PARTS) and part.endswith(".xml") and part not in listed:
            found.append((part, posixpath.basename(part), True))
    return found


def _column_number(letters):
    number = 0
    for letter in letters.upper():
        if not "A" <= letter <= "Z":
            raise ValueError(letters)
        number = number * 26 + ord(letter) - 64
    return number


def _split_ref(ref):
    """ "NTP150000" → (150000, 10000); (0, 0) for what is not a cell reference."""
    match = re.fullmatch(r"\$?([A-Za-z]{1,16})\$?(\d{1,16})", ref.strip())
    if not match:
        return 0, 0
    return int(match.group(2)), _column_number(match.group(1))


_CHUNK_BYTES = 1024 * 1024
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)")
_ROW_START = b"<row "
_ROW_NUMBERS = re.compile(rb'<row r="(\d{1,7})"')
# Cells not in the plain form (no r, or an r not "LETTERS digits"), rows without a plain r, and
# elements with a namespace prefix: any of them, and the sheet is parsed exactly instead.
_NOT_PLAIN = (
    re.compile(rb'<c(?! r="[A-Z]{1,3}\d{1,7}")[\s/>]'),
    re.compile(rb'<row(?! r="\d{1,7}")[\s/>]'),
    re.compile(rb":(?:c|row)[\s/>]"),
)
_WIDE_CELL_LETTERS = re.compile(rb'<c r="([A-Z]{2,3})\d')
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})\d')
_CELL_ROWS = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')


def _greater_than(number):
    r"""A regular expression for the whole numbers above ``number`` written with up to 7 digits:
    15363 → ``\d{6,7}|1536[4-9]|153[7-9]\d|15[4-9]\d\d|1[6-9]\d\d\d|[2-9]\d\d\d\d``."""
    digits = str(number)
    options = [rb"\d{%d,7}" % (len(digits) + 1)] if len(digits) < 7 else []
    for i, digit in reversed(list(enumerate(digits))):
        if digit != "9":
            rest = len(digits) - i - 1
            options.append(digits[:i].encode() + b"[%d-9]" % (int(digit) + 1) + rb"\d" * rest)
    return b"|".join(options) or b"(?!)"


# A row without a value: self-closing, or holding only cells that are empty (styled) or whose
# value or inline text is blank. (A cell pointing at a blank shared string counts as filled.)
_BLANK_ROW = re.compile(
    rb'<row r="\d{1,7}"[^>]*?(?:/>|>(?:\s|<c r="[A-Z]{1,3}\d{1,7}"[^>]*?(?:/>|>(?:<v>\s*</v>|<v/>'
    rb'|<is>(?:<t>\s*</t>|<t/>|<t xml:space="preserve">\s*</t>)</is>)?</c>))*</row>)'
)


class _SheetScan:
    """The extent of one worksheet, from its XML read a chunk at a time.

    Written as Excel, WPS, LibreOffice and openpyxl write it (every ``<row>`` and ``<c>`` with
    an ``r="…"`` in that form, no namespace prefix) it is scanned with a few regular expressions
    over each chunk; anything else (implicit positions, prefixes, odd quoting) is parsed exactly
    with expat, which is slower. Refuses as soon as what it has seen is past a limit."""

    def __init__(self, name):
        self.name = name
        self.declared_rows = self.declared_columns = 0
        self.rows = self.filled = 0
        self.columns = set()  # column letters of the cells (fast) or numbers (exact)
        self.max_column = 0

    def feed_all(self, chunks):
        """Scan the XML that ``chunks()`` gives (afresh on every call)."""
        if not self._scan_fast(chunks()):
            self._scan_exact(chunks())

    def _declared(self, data):
        """The range the sheet declares (``<dimension ref="A1:NTP150000"/>``, before the rows),
        refused at once past MAX_ROWS: a 300,000-row file need not be read to be refused."""
        end = data.find(b"<sheetData")
        match = _DIMENSION.search(data if end < 0 else data[:end])
        if match:
            rows, columns = _split_ref(match.group(1).decode("ascii", "replace").split(":")[-1])
            self.declared_rows, self.declared_columns = rows, columns
            if rows > MAX_ROWS:
                raise RosterFileError(
                    DECLARED_TOO_MANY_ROWS.format(sheet=self.name, rows=rows, limit=MAX_ROWS)
                )
        return end >= 0

    def _scan_fast(self, chunks):
        """False (and nothing counted that matters) if the XML is not in the plain form."""
        carry, in_rows = b"", False
        for chunk in itertools.chain(chunks, [b""]):
            data = carry + chunk
            if chunk:
                cut = data.rfind(_ROW_START)
                if cut <= 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            if not in_rows:
                in_rows = self._declared(data)
            if not self._fast_chunk(data):
                self.rows = self.filled = self.max_column = 0
                self.columns = set()
                return False
            self._check()
        return True

    def _fast_chunk(self, data):
        """Count ``data``'s rows (whole ``<row>`` elements) in a few passes of regular expressions:
        the last row from the rows' r (and from the cells' r only if one is past it), the last
        column from the cells with two or three letters (or one, if there are none)."""
        if any(pattern.search(data) for pattern in _NOT_PLAIN):
            return False
        rows = _ROW_NUMBERS.findall(data)
        if rows:
            self.rows = max(self.rows, max(map(int, rows)))
            self.filled += len(rows) - len(_BLANK_ROW.findall(data))
        beyond = re.compile(rb'<c r="[A-Z]{1,3}(?:%s)"' % _greater_than(self.rows))
        if beyond.search(data):
            self.rows = max(self.rows, max(map(int, _CELL_ROWS.findall(data))))
        wide = _WIDE_CELL_LETTERS.findall(data)
        if not wide or len(max(wide, key=len)) == 3 or _column_number(max(wide).decode()) > MAX_COLUMNS:
            wide += _CELL_LETTERS.findall(data)  # every column, to count those in use
        self.columns.update(wide)
        return True

    def _scan_exact(self, chunks):
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        state = {"row": 0, "column": 0, "text": False, "filled_row": -1}

        def refuse_dtd(*args):
            raise RosterFileError(UNSAFE_XML)

        def start(tag, attrs):
            local = tag.rsplit(":", 1)[-1]
            if local == "row":
                r = attrs.get("r", "").strip()
                state["row"] = int(r) if r.isdigit() else state["row"] + 1
                state["column"] = 0
                self.rows = max(self.rows, state["row"])
            elif local == "c":
                row, column = _split_ref(attrs.get("r", ""))
                if column:
                    state["row"], state["column"] = max(row, 1), column
                else:
                    state["column"] += 1
                self.rows = max(self.rows, state["row"])
                self.columns.add(state["column"])
                self.max_column = max(self.max_column, state["column"])
            elif local in ("v", "t"):
                state["text"] = True
            elif local == "dimension" and not self.declared_rows:
                rows, columns = _split_ref(attrs.get("ref", "").split(":")[-1])
                self.declared_rows, self.declared_columns = rows, columns

        def end(tag):
            if tag.rsplit(":", 1)[-1] in ("v", "t"):
                state["text"] = False
            elif tag.rsplit(":", 1)[-1] == "row":
                self._check()

        def text(data):
            if state["text"] and data.strip() and state["filled_row"] != state["row"]:
                state["filled_row"] = state["row"]
                self.filled += 1

        parser.StartDoctypeDeclHandler = refuse_dtd
        parser.EntityDeclHandler = refuse_dtd
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        self._check()

    def _check(self):
        _judge_early(self.extent(declared=False))

    def extent(self, *, visible=True, xml_bytes=0, declared=True):
        if self.columns and isinstance(next(iter(self.columns)), bytes):
            used = len(self.columns)
            columns = max(_column_number(letters.decode()) for letters in self.columns)
        else:
            used, columns = len(self.columns), self.max_column
        return Extent(
            name=self.name,
            rows=max(self.rows, self.declared_rows if declared else 0),
            columns=max(columns, self.declared_columns if declared else 0),
            filled=self.filled,
            columns_used=used,
            visible=visible,
            xml_bytes=xml_bytes,
        )


def _xls_extents(content):
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    extents = []
    for meta in workbook.sheets_metadata:
        if meta.typ != SheetTypeEnum.WorkSheet:
            continue
        sheet = workbook.get_sheet_by_name(meta.name)
        last = sheet.end  # (row, column) of the range's last cell, from 0; None when empty
        rows, columns = (last[0] + 1, last[1] + 1) if last else (0, 0)
        if rows * columns > XLS_MAX_CELLS:
            raise RosterFileError(XLS_TOO_BIG.format(sheet=meta.name, rows=rows, columns=columns))
        filled, used = 0, set()
        for cells in sheet.iter_rows():
            if any(cell not in ("", None) for cell in cells):
                filled += 1
                if columns > MAX_COLUMNS:
                    used.update(j for j, cell in enumerate(cells) if cell not in ("", None))
        extent = Extent(
            meta.name,
            rows,
            columns,
            filled,
            len(used) if used else min(columns, MAX_COLUMNS),
            meta.visible == SheetVisibleEnum.Visible,
        )
        _judge(extent)
        extents.append(extent)
    return extents


def _csv_extent(content):
    """The CSV's lines counted as they are read: rows, blank rows, the widest row."""
    rows = filled = columns = used = 0
    for _, cells in _read_csv(content, count=False).rows():
        rows += 1
        columns = max(columns, len(cells))
        if any(cell.strip() for cell in cells):
            filled += 1
            if len(cells) > MAX_COLUMNS:
                used = max(used, max(j + 1 for j, cell in enumerate(cells) if cell.strip()))
        if rows % 1000 == 0:
            _judge_early(Extent("CSV", rows, columns, filled, used or min(columns, MAX_COLUMNS)))
    return Extent("CSV", rows, columns, filled, used or min(columns, MAX_COLUMNS))


# --- the child ----------------------------------------------------------------------------------


def _in_child(function, *args):
    """``function(*args)``'s JSON-able result, computed in a forked child process that may
    allocate only CHECK_MEMORY_BYTES beyond what it inherits and run CHECK_SECONDS.

    A RosterFileError in the child is raised here with its message; a child that runs out of
    memory (a MemoryError, or an abort in native code) or time is killed and refused with
    CHECK_FAILED. The fork shares the parent's memory copy-on-write (a few ms)."""
    reader_fd, writer_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(reader_fd)
            _limit_child()
            try:
                outcome = {"ok": function(*args)}
            except RosterFileError as exc:
                outcome = {"refused": str(exc)}
            except MemoryError:
                outcome = {"refused": CHECK_FAILED}
            except _CHECK_ERRORS:
                outcome = {"refused": UNREADABLE}
            except Exception:
                outcome = {"crashed": traceback.format_exc(limit=8)}
            with os.fdopen(writer_fd, "wb") as out:
                out.write(json.dumps(outcome).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer_fd)
    try:
        data = _read_within(reader_fd, pid, time.monotonic() + CHECK_SECONDS)
    finally:
        os.close(reader_fd)
        _, status = os.waitpid(pid, 0)
    try:
        outcome = json.loads(data) if data else {}
    except ValueError:
        outcome = {}
    if "ok" in outcome:
        return outcome["ok"]
    if "refused" in outcome:
        raise RosterFileError(outcome["refused"])
    if "crashed" in outcome:
        logger.error("roster check failed:\n%s", outcome["crashed"])
        raise RosterFileError(UNREADABLE)
    logger.warning("roster check child ended with status %s: refused", status)
    raise RosterFileError(CHECK_FAILED)


def _read_within(fd, pid, deadline):
    """What the child writes on ``fd`` until it closes it; past ``deadline`` the child is killed."""
    parts = []
    while True:
        remaining = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            os.kill(pid, signal.SIGKILL)
            return b""
        part = os.read(fd, 65536)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _limit_child():
    """Cap the child's address space at what it has now plus CHECK_MEMORY_BYTES, its CPU time at
    CHECK_SECONDS, and silence it (an allocator's abort prints a backtrace, and so does
    faulthandler where it is on)."""
    faulthandler.disable()
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        current = None
    for kind, wanted in (
        (resource.RLIMIT_AS, current and current + CHECK_MEMORY_BYTES),
        (resource.RLIMIT_CPU, CHECK_SECONDS),
    ):
        if wanted:
            hard = resource.getrlimit(kind)[1]
            limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(kind, (limit, hard))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


# --- reading ------------------------------------------------------------------------------------


def _check_xlsx_archive(archive):
    """Refuse a macro workbook, a zip bomb and XML with a DTD before anything reads the sheets.

    OOXML never has a DTD, so a DOCTYPE or ENTITY in any part is an attack (entity expansion,
    external entities): every XML part's prolog is parsed with defusedxml up to its root
    element, and [Content_Types].xml and xl/workbook.xml in full. Returns xl/workbook.xml's
    root element.
    """
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
        SafeElementTree.fromstring(content_types, forbid_dtd=True)
        workbook = SafeElementTree.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
        for info in infos:
            if info.filename.lower().endswith(XML_PARTS):
                _check_prolog(archive, info)
    except DefusedXmlException:
        raise RosterFileError(UNSAFE_XML) from None
    except (SafeElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
        raise RosterFileError(UNREADABLE) from None
    return workbook


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


# --- a big xlsx, a slice of rows at a time ---------------------------------------------------
#
# openpyxl's read-only mode keeps memory flat but costs about 0.3 ms a row in Python, and a sheet
# without a <dimension> (openpyxl's own write-only files, many exports) it parses in full once
# more for every worksheet object it builds: bench/roster_import.py measured 65 s to preview
# 100,000 rows this way against 2.3 s for 15,362 read whole by python-calamine (issue 14 item 7).
# So a big sheet is cut, at row boundaries, into slices of at most SLICE_BYTES of XML and
# SLICE_CELLS cells of the sheet's width, each put in a small workbook of its own (the file's
# styles and shared strings, the sheet's opening tags, the slice's rows) that python-calamine
# reads: the same cells as reading the sheet whole, in the memory of one slice. Only XML in the
# plain form (:data:`_NOT_PLAIN`) is sliced; anything else, or a slice python-calamine cannot
# read (XML broken midway), goes on with openpyxl from the row after the last one given.

SLICE_BYTES = 2 * 1024 * 1024
SLICE_CELLS = 250_000
_SHEET_DATA = re.compile(rb"<sheetData\s*(/?)>")
_DIMENSION_ELEMENT = re.compile(rb"<dimension\b[^>]*>")
_EMPTY_SHEET = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
)


class _Unsliceable(Exception):
    """The sheet (from some row on) is read by openpyxl instead."""


def _stream_workbook(content):
    """The visible worksheets of a big xlsx, each read a slice of rows at a time when asked
    (see above); the height is the extent :func:`check_roster` found."""
    extents = {extent.name: extent for extent in check_roster(content)}
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            workbook = SafeElementTree.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
            parts = _workbook_worksheets(archive, workbook)
    except _STREAM_ERRORS:
        raise RosterFileError(UNREADABLE) from None
    return [
        Sheet(name, extents[name].rows if name in extents else MAX_ROWS, partial(_stream_rows, content, name))
        for _, name, visible in parts
        if visible
    ]


def _workbook_worksheets(archive, workbook):
    """(part, name, visible) of the worksheets workbook.xml lists (not its chart sheets)."""
    listed = [part for part in _worksheet_parts(archive, workbook)]
    names = {sheet.get("name") for sheet in workbook.iter() if sheet.tag.rsplit("}", 1)[-1] == "sheet"}
    return [(p, n, v) for p, n, v in listed if p.startswith(WORKSHEET_PARTS) and n in names]


def _stream_rows(content, title):
    """(row_number, cells) of the sheet ``title``: python-calamine a slice at a time, or openpyxl
    from the first row a slice could not give."""
    given = 0
    try:
        for number, cells in _sliced_rows(content, title):
            given = number
            yield number, cells
        return
    except _Unsliceable:
        pass
    for number, cells in _openpyxl_rows(content, title):
        if number > given:
            yield number, cells


def _sliced_rows(content, title):
    extent = next((e for e in check_roster(content) if e.name == title), None)
    if extent is None:
        raise _Unsliceable
    rows_per_slice = max(1, SLICE_CELLS // max(extent.columns, 1))
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        workbook = SafeElementTree.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
        worksheets = {part: name for part, name, _ in _workbook_worksheets(archive, workbook)}
        part = next(p for p, name in worksheets.items() if name == title)
        others = {
            info.filename: (_EMPTY_SHEET if info.filename.startswith(WORKSHEET_PARTS) else archive.read(info))
            for info in archive.infolist()
            if info.filename != part and not info.filename.endswith("/")
        }
        chunks = _inflated(archive, archive.getinfo(part), content)
    except (*_STREAM_ERRORS, StopIteration):
        raise _Unsliceable from None
    with archive:
        number = 0
        for opening, rows in _slices(chunks, rows_per_slice):
            for row_number, cells in _slice_cells(others, part, title, opening, rows):
                while number + 1 < row_number:  # blank rows between slices, as a whole read gives them
                    number += 1
                    yield number, []
                number = row_number
                if number > MAX_ROWS:
                    raise RosterFileError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
                yield number, cells


def _slices(chunks, rows_per_slice):
    """(the sheet's XML up to its <sheetData>, the XML of a slice's whole rows) for each slice."""
    buffer, opening = b"", None
    for chunk in chunks:
        buffer += chunk
        if opening is None:
            match = _SHEET_DATA.search(buffer)
            if not match:
                if len(buffer) > SLICE_BYTES:
                    raise _Unsliceable
                continue
            if match.group(1):  # <sheetData/>: no rows at all
                return
            opening = _DIMENSION_ELEMENT.sub(b"", buffer[: match.end()])
            buffer = buffer[match.end() :]
        while len(buffer) >= SLICE_BYTES or buffer.count(b"<row ", 0, SLICE_BYTES) > rows_per_slice:
            cut = _slice_end(buffer, rows_per_slice)
            yield opening, buffer[:cut]
            buffer = buffer[cut:]
    end = buffer.find(b"</sheetData>")
    if opening is None or end < 0:
        raise _Unsliceable  # broken off, or not a worksheet as Excel writes one
    while buffer.count(b"<row ", 0, end) > rows_per_slice:
        cut = _slice_end(buffer, rows_per_slice)
        yield opening, buffer[:cut]
        buffer, end = buffer[cut:], end - cut
    if buffer[:end].strip():
        yield opening, buffer[:end]


def _slice_end(buffer, rows_per_slice):
    """Where the slice at the start of ``buffer`` ends: at the start of a row, after at most
    ``rows_per_slice`` rows and SLICE_BYTES of XML (one row at least)."""
    start, seen = 0, 0
    while seen < rows_per_slice:
        found = buffer.find(b"<row ", start + 1)
        if found < 0 or (found > SLICE_BYTES and seen):
            break
        start, seen = found, seen + 1
    if start <= 0:
        raise _Unsliceable  # a single row past SLICE_BYTES
    return start


def _slice_cells(others, part, title, opening, rows):
    """(row_number, cells) of the slice's rows, read by python-calamine from a workbook of their own."""
    if b"<!" in rows or b"<?" in rows or any(pattern.search(rows) for pattern in _NOT_PLAIN):
        raise _Unsliceable  # a comment or CDATA may hide a cut; other forms are read exactly
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_STORED) as target:
        for name, data in others.items():
            target.writestr(name, data)
        target.writestr(part, b"".join((opening, rows, b"</sheetData></worksheet>")))
    book.seek(0)
    try:
        sheet = CalamineWorkbook.from_filelike(book).get_sheet_by_name(title)
        start = sheet.start
        cells = sheet.to_python() if start else []
    except (CalamineError, ValueError, OSError):
        raise _Unsliceable from None
    del book
    if not cells:
        return
    first_row, first_column = start
    pad = [""] * first_column
    for index, row in enumerate(cells):
        yield first_row + index + 1, pad + row if pad else row


def _openpyxl_rows(content, title):
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


def _read_csv(content, *, count=True):
    """The CSV as one sheet, read through once here (so that a broken or too long file is refused
    before anything else; not when ``count`` is false) and again, row by row, whenever its rows
    are asked for."""
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

    height = sum(1 for _ in rows()) if count else 0
    return Sheet("CSV", height, rows)
