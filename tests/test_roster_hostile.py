"""Hostile roster files: control characters and over-long cells refused per field, XML entity
attacks (billion laughs, external entities) refused before anything is parsed or written, and
files that ask a reader for far more than they hold (a sparse grid, rows and columns past the
limits, blank rows, zip bombs) refused at once without taking the process down."""

import csv
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from functools import partial
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from python_calamine import CalamineWorkbook

from registry.choices import Category
from registry.models import Child, ImportJob, Woman
from registry.roster import pipeline, reader
from registry.roster.errors import invalid_rows_workbook
from registry.roster.pipeline import IMPORTERS, ImportScope, import_children
from registry.roster.reader import RosterFileError
from tests import hostile_files
from tests.factories import make_id_number, spy, years_ago

HEADER = ["姓名", "身份证号", "村代码", "监护类型", "父亲状况", "母亲状况", "父亲务工地", "监护人身份证号"]


def child_row(name="张小明", **overrides):
    values = {
        "姓名": name,
        "身份证号": make_id_number("410922", years_ago(9, days=40)),
        "村代码": "410922100201",
        "监护类型": "祖辈监护",
        "父亲状况": "外出务工",
        "母亲状况": "外出务工",
        "父亲务工地": "广东省东莞市",
        "监护人身份证号": "",
        **overrides,
    }
    return [values[c] for c in HEADER]


def csv_file(rows, header=HEADER):
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerows([header, *rows])
    return out.getvalue().encode("utf-8")


def xlsx_file(rows, header=HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def errors_of(result):
    return [(e.row, e.column, e.message) for e in result.errors]


@pytest.mark.parametrize("char", ["\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x85", "\x9b"])
def test_control_characters_are_refused_naming_the_column(cast, char):
    content = csv_file([child_row(name=f"张{char}小明"), child_row(父亲务工地=f"广东{char}东莞")])

    result = import_children(content, scope=ImportScope.for_user(cast["county"]))

    assert errors_of(result) == [
        (2, "姓名", "姓名含有不可见的控制字符，请删除后重新填写"),
        (3, "父亲务工地", "父亲务工地含有不可见的控制字符，请删除后重新填写"),
    ]


def test_control_characters_in_a_place_column_are_refused(cast):
    content = csv_file([child_row(村代码="4109221002\x0801")])

    result = import_children(content, scope=ImportScope.for_user(cast["county"]))

    assert errors_of(result) == [(2, "村代码", "村代码含有不可见的控制字符，请删除后重新填写")]


def test_a_line_break_inside_a_cell_is_whitespace_not_a_control_character(cast):
    content = csv_file([child_row(name="张小明\n", 父亲务工地="广东省\r\n东莞市")])

    result = import_children(content, scope=ImportScope.for_user(cast["county"]))

    assert result.errors == []
    assert result.rows[0].data["father_work_place"] == "广东省 东莞市"


def test_overlong_cells_are_refused_naming_the_limit(cast):
    long_id = " ".join(make_id_number("410922", years_ago(40)))  # 35 characters, 18 once cleaned
    content = xlsx_file(
        [
            child_row(name="张" * 31),
            child_row(父亲务工地="广" * 61),
            child_row(name="张" * 30, 父亲务工地="广" * 60, 监护人身份证号=long_id),
        ]
    )

    result = import_children(content, scope=ImportScope.for_user(cast["county"]), commit=True)

    assert errors_of(result) == [
        (2, "姓名", "姓名超过30个字的长度上限（现为31个字）"),
        (3, "父亲务工地", "父亲务工地超过60个字的长度上限（现为61个字）"),
    ]
    assert result.refused and Child.objects.count() == 0


def test_overlong_cell_of_a_womans_roster(cast):
    header = ["姓名", "身份证号", "村代码", "丈夫外出月数", "丈夫务工地"]
    number = make_id_number("410922", years_ago(35), sex="female")
    content = xlsx_file([["王秀兰", number, "410922100201", 12, "深" * 100]], header)

    result = IMPORTERS[Category.WOMAN](content, scope=ImportScope.for_user(cast["county"]), commit=True)

    assert errors_of(result) == [(2, "丈夫务工地", "丈夫务工地超过60个字的长度上限（现为100个字）")]
    assert Woman.objects.count() == 0


def test_invalid_rows_workbook_keeps_hostile_cells_inert(cast):
    content = csv_file(
        [child_row(name='=HYPERLINK("http://x","点我")', 监护类型="乱填"), child_row("张\x07三")]
    )
    result = import_children(content, scope=ImportScope.for_user(cast["county"]))

    sheet = openpyxl.load_workbook(io.BytesIO(invalid_rows_workbook(result))).active

    formula, control = sheet.cell(2, 2), sheet.cell(3, 2)
    assert (formula.value, formula.data_type) == ('=HYPERLINK("http://x","点我")', "s")
    assert control.value == "张三"
    assert sheet.cell(3, sheet.max_column).value == "第3行 姓名：姓名含有不可见的控制字符，请删除后重新填写"


# --- XML entity attacks --------------------------------------------------------------------

LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)
EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


SST = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>\xe5\xbc\xa0\xe5\xb0\x8f\xe6\x98\x8e</t></si></sst>"
)


def roster_with_shared_strings():
    """A two-row roster whose first name (张小明) is a shared string, as Excel and WPS write
    them (openpyxl itself writes inline strings)."""
    content = xlsx_file([child_row(), child_row("李小红")])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
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
                    b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
                    b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            elif info.filename == "xl/worksheets/sheet1.xml":
                # (the name's characters are written as they are, or as &#…; with lxml)
                data, found = re.subn(
                    rb'<c r="A2" t="inlineStr">.*?</c>', b'<c r="A2" t="s"><v>0</v></c>', data
                )
                assert found == 1
            target.writestr(info, data)
        target.writestr("xl/sharedStrings.xml", SST)
    return out.getvalue()


def with_dtd(content, part, dtd):
    """``content`` with ``dtd`` before the root element of ``part`` (and its entity used)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        assert part in source.namelist()
        for info in source.infolist():
            data = source.read(info)
            if info.filename == part:
                declaration, rest = data.split(b"?>", 1) if data.startswith(b"<?xml") else (b"", data)
                declaration += b"?>" if declaration else b""
                entity = b"&lol9;" if b"lol9" in dtd else b"&xxe;"
                rest = rest.replace(b"<t>", b"<t>" + entity, 1)
                data = declaration + dtd + rest
            target.writestr(info, data)
    return out.getvalue()


def test_openpyxl_and_the_reader_use_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True
    assert reader.SafeElementTree.__name__ == "defusedxml.ElementTree"


@pytest.mark.parametrize(
    ("part", "dtd"),
    [
        ("xl/sharedStrings.xml", LAUGHS),
        ("xl/workbook.xml", LAUGHS),
        ("[Content_Types].xml", LAUGHS),
        ("xl/worksheets/sheet1.xml", EXTERNAL),
        ("xl/sharedStrings.xml", EXTERNAL),
    ],
)
def test_xml_entity_declarations_are_refused_and_nothing_written(cast, tmp_path, part, dtd):
    content = with_dtd(roster_with_shared_strings(), part, dtd)
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(content)

    with pytest.raises(RosterFileError) as refused:
        import_children(content, scope=ImportScope.for_user(None), commit=True)
    with pytest.raises(CommandError) as command:
        call_command("import_roster", str(path), "--kind", "child", "--commit", "--skip-invalid")

    assert str(refused.value) == reader.UNSAFE_XML == "文件包含不安全的 XML 内容（实体声明），已拒绝导入。"
    assert str(command.value) == reader.UNSAFE_XML
    assert Child.objects.count() == 0


def test_the_same_file_without_the_dtd_imports(cast, tmp_path):
    path = tmp_path / "plain.xlsx"
    path.write_bytes(roster_with_shared_strings())
    out = io.StringIO()

    call_command("import_roster", str(path), "--kind", "child", "--commit", "--json", stdout=out)

    assert json.loads(out.getvalue())["created"] == 2
    assert sorted(Child.objects.values_list("name", flat=True)) == ["张小明", "李小红"]


def test_a_streamed_sheet_broken_midway_is_refused_and_the_rows_written_before_roll_back(cast, monkeypatch):
    """A big sheet is read row by row while earlier chunks are already written: XML that breaks
    off after some rows refuses the file in Chinese, and the transaction leaves nothing."""
    monkeypatch.setattr(reader, "STREAM_SHEET_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 1)
    # past the rows the header is looked for in, so that the break comes while judging
    content = xlsx_file([child_row(name=f"张{n}") for n in range(40)])
    with zipfile.ZipFile(io.BytesIO(content)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet[: sheet.index(b'<row r="36"')] + b'<row r="36"><c r="A36" t="'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    written = []
    monkeypatch.setattr(pipeline, "_write", spy(pipeline._write, written))

    with pytest.raises(RosterFileError) as refused:
        import_children(out.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)

    assert str(refused.value) == reader.UNREADABLE
    assert len(written) == 34  # rows 2-35, one chunk each, were written before the break: rolled back
    assert not Child.objects.exists()


# --- files that ask a reader for far more than they hold (issue 12) ---------------------------
#
# A 2 KB workbook with one cell at NTP150000 made python-calamine allocate 48 GB and abort the
# server process. Every file's extent is now checked, in a child process with a memory limit,
# before any reader builds anything.

ROOT = Path(__file__).resolve().parent.parent
EMPTY_150000 = (
    "工作表“Sheet1”有大片空白区域：到第150000行为止只有2行有内容。请删除多余的空行后重新保存，再导入。"
)


def upload(client, content, name):
    handle = io.BytesIO(content)
    handle.name = name
    return client.post(reverse("import_upload"), {"category": "child", "file": handle})


@pytest.mark.parametrize("dimension", [True, False], ids=["declared", "undeclared"])
def test_sparse_workbook_is_refused_before_a_grid_is_built(dimension):
    with pytest.raises(RosterFileError) as refused:
        reader.read_roster(hostile_files.sparse_workbook(dimension=dimension))

    assert str(refused.value) == EMPTY_150000
    assert reader.EMPTY_ROWS.format(sheet="Sheet1", rows=150_000, filled=2) == EMPTY_150000


# Reads both sparse workbooks under a 2 GB address-space limit, as a gunicorn worker would.
READ_SPARSE_WORKBOOKS = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from registry.roster import reader
from tests import hostile_files
for dimension in (True, False):
    try:
        reader.read_roster(hostile_files.sparse_workbook(dimension=dimension))
    except reader.RosterFileError as refused:
        print(refused)
"""


def test_sparse_workbook_leaves_the_reading_process_alive():
    done = subprocess.run(
        [sys.executable, "-c", READ_SPARSE_WORKBOOKS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert (done.returncode, done.stdout.splitlines(), done.stderr) == (0, [EMPTY_150000] * 2, "")


def _calamine_grid(content):
    """python-calamine building the first sheet's dense grid (what the reader did unchecked)."""
    CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("Sheet1")


def test_a_check_that_runs_out_of_memory_is_a_refusal_and_this_process_lives():
    """The child's memory limit holds whatever the check runs: python-calamine, asked for
    48 GB, aborts the child (SIGABRT), not this process."""
    with pytest.raises(RosterFileError) as refused:
        reader._in_child(_calamine_grid, hostile_files.sparse_workbook())

    assert str(refused.value) == reader.CHECK_FAILED


def test_a_check_that_runs_past_its_time_is_a_refusal(monkeypatch):
    monkeypatch.setattr(reader, "CHECK_SECONDS", 1)

    started = time.monotonic()
    with pytest.raises(RosterFileError) as refused:
        reader._in_child(time.sleep, 30)

    assert str(refused.value) == reader.CHECK_FAILED
    assert time.monotonic() - started < 10


def test_sparse_workbook_upload_is_refused_on_the_form(client, cast):
    client.force_login(cast["county"])

    response = upload(client, hostile_files.sparse_workbook(), "花名册.xlsx")

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [EMPTY_150000]
    assert EMPTY_150000 in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_rows_past_the_limit_are_refused_in_the_request_from_the_declared_range(client, cast):
    """The probe's 300,000-row file took 34 s in the request and was queued; its <dimension>
    refuses it now before a row is read, and no job is created."""
    client.force_login(cast["county"])

    response = upload(client, hostile_files.rows_workbook(300_000), "三十万行.xlsx")

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "工作表“Sheet1”的范围达300001行，超过200000行的上限：请拆分后分批导入；如果其中多是空行，请删除多余的空行后重新保存。"
    ]
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    "make",
    [
        partial(hostile_files.rows_workbook, 200_001, dimension=False),
        partial(hostile_files.csv_rows, 200_001),
    ],
    ids=["xlsx-undeclared", "csv"],
)
def test_rows_past_the_limit_are_refused_when_counted(make):
    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(make())

    assert (
        str(refused.value)
        == reader.TOO_MANY_ROWS.format(limit=200_000)
        == "文件行数超过200000行，请拆分后分批导入。"
    )


def test_rows_at_the_limit_pass_the_check():
    extents = reader.check_roster(hostile_files.rows_workbook(199_999, dimension=False))

    assert [(e.rows, e.columns, e.filled) for e in extents] == [(200_000, 8, 200_000)]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (partial(hostile_files.empty_rows_workbook, 100_000), "空行.xlsx"),
        (partial(hostile_files.csv_rows, 100_000, blank=True), "空行.csv"),
    ],
    ids=["xlsx-styled-cells", "csv-commas"],
)
def test_a_hundred_thousand_empty_rows_are_refused_not_queued(client, cast, make, name):
    client.force_login(cast["county"])

    response = upload(client, make(), name)

    sheet = "CSV" if name.endswith(".csv") else "Sheet1"
    assert response.context["form"].errors["file"] == [
        f"工作表“{sheet}”有大片空白区域：到第100001行为止只有1行有内容。请删除多余的空行后重新保存，再导入。"
    ]
    assert ImportJob.objects.count() == 0


def test_blank_rows_up_to_the_limit_are_read(cast):
    content = csv_file([child_row(), *[[""] * len(HEADER)] * reader.MAX_BLANK_ROWS, child_row("李小红")])

    result = import_children(content, scope=ImportScope.for_user(cast["county"]))

    assert (result.errors, len(result.rows)) == ([], 2)


@pytest.mark.parametrize(
    "make",
    [
        partial(hostile_files.wide_workbook, 10_000),
        partial(hostile_files.csv_rows, 1, header=hostile_files.wide_header(10_000)),
    ],
    ids=["xlsx", "csv"],
)
def test_ten_thousand_columns_with_real_header_names_are_refused(make):
    content = make()

    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(content)

    sheet = "Sheet1" if content.startswith(reader.ZIP_MAGIC) else "CSV"
    assert str(refused.value) == (
        f"工作表“{sheet}”有10000列，超过200列的上限：请删除多余的列后重新保存，再导入。"
    )


def test_one_far_cell_right_of_the_data_is_a_huge_empty_range():
    content = hostile_files.sparse_workbook(column="NTP", row=3)

    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(content)

    assert str(refused.value) == (
        "工作表“Sheet1”有大片空白区域：范围到第10000列，超过200列的上限，其中多是空列。请删除多余的空列后重新保存，再导入。"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            hostile_files.sparse_xls,
            "工作表“Sheet1”有大片空白区域：到第60001行为止只有2行有内容。请删除多余的空行后重新保存，再导入。",
        ),
        (
            partial(hostile_files.wide_xls, 256),
            "工作表“Sheet1”有256列，超过200列的上限：请删除多余的列后重新保存，再导入。",
        ),
    ],
    ids=["sparse", "wide"],
)
def test_legacy_xls_past_the_limits_is_refused(make, message):
    with pytest.raises(RosterFileError) as refused:
        reader.read_roster(make())

    assert str(refused.value) == message


@pytest.mark.parametrize(
    "make",
    [hostile_files.bomb_workbook, hostile_files.lying_bomb_workbook],
    ids=["honest-headers", "lying-headers"],
)
def test_zip_bombs_are_refused(make):
    """A part that inflates past what its header declares is refused as the bomb it is: the
    limit on the unpacked size counts the declared sizes."""
    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(make())

    assert str(refused.value) == reader.BOMB.format(limit=200)


def test_a_workbook_of_millions_of_shared_strings_is_refused():
    """Both readers load every shared string before the first row: 3,000,000 of them (51 MB in
    100 KB) are refused; a thousand are read."""
    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(hostile_files.strings_workbook(3_000_000))

    assert (
        str(refused.value)
        == "文件中的文字条目过多（超过2000000条），可能已损坏或不是正常的花名册，已拒绝导入。"
    )
    assert reader.read_roster(hostile_files.strings_workbook(1_000))[0].height == 2


def test_a_sheet_in_a_form_the_fast_scan_does_not_know_is_scanned_exactly():
    """Cells without r (positions implicit) and a namespace prefix: calamine still reads them,
    so the check counts them as it does."""
    sheet = (
        '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        '<x:row r="1"><x:c t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c></x:row>'
        '<x:row r="150000">' + "<x:c><x:v>1</x:v></x:c>" * 3 + "</x:row></x:sheetData></x:worksheet>"
    )

    with pytest.raises(RosterFileError) as refused:
        reader.check_roster(hostile_files.workbook(sheet))

    assert str(refused.value) == EMPTY_150000


def test_a_normal_roster_is_checked_once_per_process(cast, monkeypatch):
    """A preview and its commit (or the upload's row count and its preview) check the file once."""
    content = xlsx_file([child_row(), child_row("李小红")])
    checks = []
    monkeypatch.setattr(reader, "_in_child", spy(reader._in_child, checks))
    monkeypatch.setattr(reader, "_CHECKED", {})

    assert reader.roster_height(content) == 3
    result = import_children(content, scope=ImportScope.for_user(cast["county"]), commit=True)

    assert (len(checks), result.errors, Child.objects.count()) == (1, [], 2)
