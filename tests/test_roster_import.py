"""The roster import on a messy village workbook, the same rows as GBK CSV and as .xls."""

import csv
import datetime
import io
import json
import os
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
import xlwt
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from registry import bulk, records
from registry.choices import GuardianAssessment, HistorySource, ParentStatus
from registry.models import Child, VillageStatistics
from registry.records import duplicate_id_message
from registry.roster import pipeline, reader
from registry.roster.errors import invalid_rows_workbook
from registry.roster.headers import find_header
from registry.roster.normalize import ID_AS_NUMBER
from registry.roster.pipeline import ImportScope, import_children
from registry.roster.reader import RosterFileError
from tests.factories import ChildFactory, make_child, make_id_number, roster_json, spy, years_ago

WIDTH = 19
TOP = ["序号", "姓名", "性别", "身份证号码", "出生日期", "县(区)", "乡镇(街道)", "村（社区）", "监护类型",
       "监护人情况", "", "", "父亲情况", "", "", "母亲情况", "", "", "备注"]  # fmt: skip
SUB = ["", "", "", "", "", "", "", "", "", "姓名", "与儿童关系", "联系电话", "姓名", "状况", "务工地",
       "姓名", "状况", "务工地", ""]  # fmt: skip


class Float(float):
    """An ID number Excel stored as a number: a float cell, "4.10922E+17" once saved as CSV."""

    def as_csv(self):
        return f"{self:.5E}".replace("E+", "E+")


def person(no, name, id_number, birth, place=("县1", "县1镇1", "县1镇1村1"), father="外出务工", **extra):
    row = [no, name, "", id_number, birth, *place, extra.get("type", "祖辈监护"),
           "张奶奶", "奶奶", extra.get("phone", "13812345678"), "张大山", father, "广东省东莞市",
           "李小花", extra.get("mother", "外出务工"), "浙江省杭州市", extra.get("note", "")]  # fmt: skip
    return row


@pytest.fixture
def ids(db):
    birth = years_ago(9, days=40)
    return {
        "birth": birth,
        "a": make_id_number("410922", birth),
        "b": make_id_number("410922", birth),
        "x": make_id_number("410922", birth, check="X"),
        "d": make_id_number("410922", birth),
        "e": make_id_number("410923", birth),
    }


def grid(ids):
    """The spreadsheet as rows of cells (row 1 first) and its merged ranges."""
    birth = ids["birth"]
    full_width = ids["a"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        ["清丰县农村留守儿童花名册"] + [""] * (WIDTH - 1),
        ["填报单位：县1镇1人民政府", "", "", "", "", "", "", "", "", "填报日期：2024年5月1日"] + [""] * 9,
        TOP,
        SUB,
        person(1, "张 小 明", f" {full_width}\u200b", f"{birth.year}年{birth.month}月{birth.day}日"),
        [""] * WIDTH,
        person(2, "李小红", Float(int(ids["b"][:15] + "000")), birth.strftime("%Y.%m.%d")),
        person(
            3,
            "王小刚",
            ids["x"].lower(),
            birth,
            type="祖辈",
            father="外出",
            mother="务工",
            phone=17780490636.0,
        ),  # fmt: skip
        person(4, "赵小丽", ids["d"], birth.strftime("%Y%m%d"), father="出门"),
        person(5, "张小明", ids["a"], birth.strftime("%Y-%m-%d")),
        person(6, "孙小宝", ids["e"], birth.strftime("%Y/%m/%d"), place=("县2", "县2镇1", "县2镇1村1")),
        ["合计", "6人"] + [""] * (WIDTH - 2),
        ["注：本表由村委会填写，乡镇审核。"] + [""] * (WIDTH - 1),
    ]
    merges = ["A1:S1", "J3:L3", "M3:O3", "P3:R3"] + [f"{c}3:{c}4" for c in "ABCDEFGHIS"]
    return rows, merges


def xlsx_bytes(ids):
    rows, merges = grid(ids)
    book = openpyxl.Workbook()
    sheet = book.active
    for r, cells in enumerate(rows, start=1):
        for c, value in enumerate(cells, start=1):
            if value != "":
                sheet.cell(row=r, column=c, value=float(value) if isinstance(value, Float) else value)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(ids, encoding="gbk"):
    rows, _ = grid(ids)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for cells in rows:
        writer.writerow(
            [
                c.as_csv()
                if isinstance(c, Float)
                else f"{c.year}/{c.month}/{c.day}"
                if isinstance(c, datetime.date)
                else ""
                if c == ""
                else str(c).replace("\u200b", "")
                for c in cells
            ]
        )
    return out.getvalue().encode(encoding)


def xls_bytes(ids):
    rows, _ = grid(ids)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            if isinstance(value, datetime.date):
                sheet.write(r, c, value, date_style)
            elif value != "":
                sheet.write(r, c, float(value) if isinstance(value, Float) else value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EXPECTED_ERRORS = [
    (7, "身份证号", ID_AS_NUMBER),
    (9, "父亲状况", "父亲状况“出门”无法识别，可填：外出务工、在家、无监护能力、死亡、服刑、失联、离异"),
    (10, "身份证号", "与第5行的身份证号重复，同一人只能登记一次"),
    (11, "村(社区)", "在您可导入的范围内找不到“县2县2镇1县2镇1村1”，请核对县、乡镇、村名称或填写村代码"),
]


def verdicts(result):
    return [(row.row, row.verdict) for row in result.rows]


def test_roster_workbook_gives_exact_verdicts_per_row(cast, ids):
    result = import_children(xlsx_bytes(ids), scope=ImportScope.for_user(cast["county"]))

    assert verdicts(result) == [(5, "new"), (7, "invalid"), (8, "new"), (9, "invalid"), (10, "invalid"),
                                (11, "invalid")]  # fmt: skip
    assert [(e.row, e.column, e.message) for e in result.errors] == EXPECTED_ERRORS
    first, third = result.rows[0].data, result.rows[2].data
    assert (first["name"], first["id_number"], first["birth_date"]) == ("张小明", ids["a"], ids["birth"])
    assert (third["id_number"], third["guardian_phone"]) == (ids["x"], "17780490636")
    assert (third["guardianship_type"], third["father_status"], third["mother_status"]) == (
        "grandparent",
        ParentStatus.AWAY_WORKING,
        ParentStatus.AWAY_WORKING,
    )
    assert Child.objects.count() == 0


@pytest.mark.parametrize("build", [csv_bytes, xls_bytes, lambda ids: csv_bytes(ids, "utf-8-sig")])
def test_roster_csv_and_xls_give_the_workbook_verdicts(cast, ids, build):
    scope = ImportScope.for_user(cast["county"])
    expected = import_children(xlsx_bytes(ids), scope=scope)

    result = import_children(build(ids), scope=scope)

    assert verdicts(result) == verdicts(expected)
    assert [(e.row, e.column, e.message) for e in result.errors] == EXPECTED_ERRORS


def test_roster_big_workbook_streamed_row_by_row_gives_the_same_verdicts(cast, ids, monkeypatch):
    """A sheet over STREAM_SHEET_BYTES is read by openpyxl's read-only mode, not python-calamine:
    the cells differ in type (None for empty, int for whole numbers), the verdicts may not."""
    scope = ImportScope.for_user(cast["county"])
    expected = import_children(xlsx_bytes(ids), scope=scope)
    height = reader.read_roster(xlsx_bytes(ids))[0].height
    streamed = []
    monkeypatch.setattr(reader, "STREAM_SHEET_BYTES", 0)
    monkeypatch.setattr(reader, "_stream_rows", spy(reader._stream_rows, streamed))

    result = import_children(xlsx_bytes(ids), scope=scope)

    assert streamed
    assert verdicts(result) == verdicts(expected)
    assert [(e.row, e.column, e.message) for e in result.errors] == EXPECTED_ERRORS
    assert [row.data for row in result.rows] == [row.data for row in expected.rows]
    assert reader.read_roster(xlsx_bytes(ids))[0].height == height == 13


def test_roster_big_file_is_judged_and_written_a_chunk_at_a_time(cast, ids, monkeypatch):
    """Past KEEP_ROWS a preview keeps verdicts and errors only, and its commit judges the file
    again, writing each chunk once judged, in the one transaction: the same outcome."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    monkeypatch.setattr(pipeline, "KEEP_ROWS", 3)
    scope = ImportScope.for_user(cast["county"])
    content = xlsx_bytes(ids)  # one file: openpyxl stamps each save with the time

    preview, judged_by_preview = _import_reporting(content, scope)
    committed, judged_by_commit = _import_reporting(content, scope, commit=True, skip_invalid=True)

    assert [(e.row, e.column, e.message) for e in preview.errors] == EXPECTED_ERRORS
    assert all(row.data is None and row.record is None for row in preview.rows)
    assert judged_by_commit == judged_by_preview  # judged again, chunk by chunk: nothing kept to reuse
    assert committed.committed and committed.summary() == preview.summary() | {"created": 2}
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted([ids["a"], ids["x"]])
    invalid = invalid_rows_workbook(committed)  # the invalid rows keep their cells for the xlsx
    assert openpyxl.load_workbook(io.BytesIO(invalid)).active.max_row == 5
    again = import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)
    assert (again.summary()["created"], again.summary()["updated"], again.summary()["unchanged"]) == (0, 0, 2)


def test_roster_invalid_row_in_a_later_chunk_rolls_back_the_chunks_written(cast, ids, monkeypatch):
    """Without skip_invalid, an invalid row found after earlier chunks were written refuses the
    file: what was written is rolled back, and the rest of the file is still judged."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 1)
    monkeypatch.setattr(pipeline, "KEEP_ROWS", 0)
    scope = ImportScope.for_user(cast["county"])
    written = []
    monkeypatch.setattr(pipeline, "_write", spy(pipeline._write, written))

    result = import_children(xlsx_bytes(ids), scope=scope, commit=True)

    assert written  # the first row was written before the invalid second came
    assert result.refused and not result.committed
    assert [(e.row, e.column, e.message) for e in result.errors] == EXPECTED_ERRORS
    assert not Child.objects.exists()
    assert AuditEvent.objects.get(action=AuditEvent.Action.IMPORT).result == AuditEvent.Result.DENIED


def _libreoffice_xls(content, directory):
    """``content`` (an xlsx) opened and saved as legacy .xls by LibreOffice, headless."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("没有 LibreOffice（soffice）；REQUIRE_LIBREOFFICE=1 要求运行此测试。", pytrace=False)
        pytest.skip("跳过：没有 LibreOffice（soffice）")
    source = directory / "roster.xlsx"
    source.write_bytes(content)
    profile = directory / "libreoffice-profile"  # its own profile: no clash with another soffice
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "xls",
         "--outdir", str(directory), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return (directory / "roster.xls").read_bytes()


def test_roster_libreoffice_saved_xls_gives_the_workbook_verdicts(cast, ids, tmp_path):
    """The issue's own check: the messy workbook, saved as .xls by LibreOffice (BIFF8 as real
    offices write it: shared strings, merged cells, date formats), is judged as the .xlsx is."""
    scope = ImportScope.for_user(cast["county"])
    expected = import_children(xlsx_bytes(ids), scope=scope)
    content = _libreoffice_xls(xlsx_bytes(ids), tmp_path)

    result = import_children(content, scope=scope)

    assert content.startswith(reader.OLE2_MAGIC)
    assert verdicts(result) == verdicts(expected)
    assert [(e.row, e.column, e.message) for e in result.errors] == EXPECTED_ERRORS
    assert [row.data for row in result.rows] == [row.data for row in expected.rows]


def test_roster_commit_skip_invalid_then_reimport_changes_nothing(cast, ids):
    scope = ImportScope.for_user(cast["county"])

    first = import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)
    second = import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)

    assert first.summary()["created"] == 2
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted([ids["a"], ids["x"]])
    child = Child.objects.get(id_number=ids["x"])
    assert child.history.get().history_change_reason == HistorySource.IMPORT
    assert child.created_by == cast["county"]
    summary = second.summary()
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["invalid"]) == (0, 0, 2, 4)
    assert child.history.count() == 1


def test_roster_without_an_assessment_column_leaves_new_children_awaiting_assessment(cast, tree, ids):
    """The canonical roster has no 监护评估: nobody assessed the new children, and they are
    recorded as 待评估, not given an assessment; a record the file updates keeps its own."""
    existing = make_child(
        tree["410922100201"], id_number=ids["a"], birth_date=ids["birth"], guardian_assessment="good"
    )

    import_children(
        xlsx_bytes(ids), scope=ImportScope.for_user(cast["county"]), commit=True, skip_invalid=True
    )

    assert Child.objects.get(id_number=ids["x"]).guardian_assessment == GuardianAssessment.PENDING
    existing.refresh_from_db()
    assert existing.guardian_assessment == GuardianAssessment.GOOD


def test_roster_new_rows_unsaved_records_hold_exactly_their_data(cast, ids):
    """The commit saves the record the form built for a new row: it holds what building one
    from the row's cleaned data gives."""
    result = import_children(xlsx_bytes(ids), scope=ImportScope.for_user(cast["county"]))

    new = [row for row in result.rows if row.verdict == "new"]
    fields = [f.attname for f in Child._meta.concrete_fields]
    assert len(new) == 2
    for row in new:
        assert row.record.pk is None
        assert [getattr(row.record, f) for f in fields] == [getattr(Child(**row.data), f) for f in fields]


def test_roster_commit_is_one_audit_event_and_fills_the_village_statistics(cast, ids):
    scope = ImportScope.for_user(cast["county"])

    import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=False)
    import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)

    events = AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT).order_by("at", "pk")
    assert [(e.user, e.result, e.row_count) for e in events] == [
        (cast["county"], AuditEvent.Result.DENIED, 0),
        (cast["county"], AuditEvent.Result.SUCCESS, 2),
    ]
    assert events[1].detail == "共6行：新增2，更新0，无变化0，无效4"
    assert ids["a"] not in events[1].detail
    child = Child.objects.get(id_number=ids["x"])
    assert VillageStatistics.objects.get(village_code=child.village_code).counts["total"] >= 1


def test_roster_imported_records_and_their_history_hold_what_was_written(cast, ids, monkeypatch):
    """New rows go in by COPY on PostgreSQL (here one row per chunk of text, to cross chunks): every
    field comes back as a typed save stores it."""
    monkeypatch.setattr(bulk, "COPY_CHUNK", 1)
    scope = ImportScope.for_user(cast["county"])

    result = import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)

    fields = [f.attname for f in Child._meta.concrete_fields]
    for row in (r for r in result.rows if r.record is not None):
        stored = Child.objects.get(pk=row.record.pk)
        assert [getattr(stored, f) for f in fields] == [getattr(row.record, f) for f in fields]
        entry = stored.history.get()
        assert (entry.history_type, entry.history_user, entry.history_change_reason) == (
            "+",
            cast["county"],
            HistorySource.IMPORT,
        )
        assert [getattr(entry.instance, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert stored.risk_flags == row.record.risk_flags and stored.created_at is not None


def test_records_created_in_bulk_hold_every_kind_of_value(cast, tree, monkeypatch):
    """Lists (JSON), true and false, dates, times, blanks and quotes, written by COPY on
    PostgreSQL, come back as they were."""
    monkeypatch.setattr(bulk, "COPY_CHUNK", 2)
    village = tree["410922100201"]
    built = [
        ChildFactory.build(village=village, boarding=True, assistance=["subsistence", "medical"]),
        ChildFactory.build(village=village, health="disabled", note='他说："好,的"\n第二行'),
        ChildFactory.build(village=village, grade="", school_name=""),
    ]
    records.record_create_many(model=Child, user=cast["county"], records=built)

    fields = [f.attname for f in Child._meta.concrete_fields]
    for record in built:
        stored = Child.objects.get(pk=record.pk)
        assert [getattr(stored, f) for f in fields] == [getattr(record, f) for f in fields]
    assert built[0].boarding and built[0].assistance and built[1].risk_flags and not built[2].boarding


def test_roster_commit_without_skip_invalid_writes_nothing(cast, ids, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(ids))
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command(
            "import_roster", str(path), "--kind", "child", "--user", "county", "--commit", stdout=out
        )

    assert refused.value.returncode == 1
    assert Child.objects.count() == 0
    assert out.getvalue().splitlines()[-1] == "共6行：有效2，无效4；新增0，更新0，无变化0"


def test_roster_command_json_contract(cast, ids, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(ids))
    out = io.StringIO()

    call_command("import_roster", str(path), "--kind", "child", "--user", "county", "--json", stdout=out)

    assert json.loads(out.getvalue()) == roster_json(EXPECTED_ERRORS)
    assert Child.objects.count() == 0


def test_roster_command_without_user_has_the_whole_registry_as_scope(cast, ids, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(ids))
    out = io.StringIO()

    call_command(
        "import_roster", str(path), "--kind", "child", "--commit", "--skip-invalid", "--json", stdout=out
    )

    assert json.loads(out.getvalue())["created"] == 3
    assert Child.objects.get(id_number=ids["e"]).village.code == "410923100201"


def test_roster_updates_a_record_in_scope(cast, tree, ids):
    existing = make_child(
        tree["410922100201"], id_number=ids["a"], birth_date=ids["birth"], guardian_phone="13900001111"
    )

    result = import_children(
        xlsx_bytes(ids), scope=ImportScope.for_user(cast["county"]), commit=True, skip_invalid=True
    )

    assert verdicts(result)[0] == (5, "updated")
    existing.refresh_from_db()
    assert (existing.name, existing.guardian_phone, existing.version) == ("张小明", "13812345678", 2)
    assert existing.history.latest().history_change_reason == HistorySource.IMPORT


def test_roster_refuses_an_id_registered_outside_the_importers_scope(cast, tree, ids):
    make_child(tree["410923100201"], id_number=ids["a"], birth_date=ids["birth"])

    result = import_children(xlsx_bytes(ids), scope=ImportScope.for_user(cast["county"]))

    assert [(e.column, e.message) for e in result.rows[0].errors] == [
        ("身份证号", duplicate_id_message(ids["a"]))
    ]
    assert "县2镇1村1" in duplicate_id_message(ids["a"])


def test_roster_import_refused_to_a_village_cadre(cast):
    with pytest.raises(RosterFileError):
        ImportScope.for_user(cast["cadre_a"])


def test_roster_macro_workbook_is_refused(cast, ids):
    content = xlsx_bytes(ids)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
            target.writestr(info, data)
        target.writestr("xl/vbaProject.bin", b"\x00" * 64)

    with pytest.raises(RosterFileError) as refused:
        import_children(out.getvalue(), scope=ImportScope.for_user(None))

    assert str(refused.value) == reader.MACRO


def test_roster_zip_bomb_is_refused_before_parsing(cast, ids, monkeypatch):
    monkeypatch.setattr(reader, "MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_bytes(ids))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/media/padding.bin", b"\x00" * (2 * 1024 * 1024))

    with pytest.raises(RosterFileError) as refused:
        import_children(out.getvalue(), scope=ImportScope.for_user(None))

    assert len(out.getvalue()) < 100_000
    assert str(refused.value) == reader.BOMB.format(limit=1)


def test_roster_progress_is_reported_during_preview_and_write(cast, ids, monkeypatch):
    content = xlsx_bytes(ids)  # one file: openpyxl stamps each save with the time
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    scope = ImportScope.for_user(cast["county"])
    calls = []

    import_children(content, scope=scope, progress=lambda done, total: calls.append((done, total)))
    # The rows under the header as the sheet declares them (the 合计 and blank rows among them),
    # a chunk at a time; at the end, what was judged.
    assert calls == [(2, 9), (4, 9), (6, 9), (6, 6)]

    calls.clear()
    import_children(content, scope=scope, commit=True, skip_invalid=True, progress=lambda *a: calls.append(a))
    # The preview's verdicts are reused: its rows are written at once.
    assert calls == [(6, 6), (6, 6)]

    calls.clear()
    import_children(content, scope=scope, commit=True, skip_invalid=True, progress=lambda *a: calls.append(a))
    # No preview before it: each chunk judged and written in turn.
    assert calls == [(2, 9), (4, 9), (6, 9), (6, 6)]


def _import_reporting(content, scope, **options):
    """The import's result and the progress it reported: (rows done, rows to do) after each step.
    Judging reports every chunk against the rows the sheet declares; a commit that reuses its
    preview's verdicts reports only the writing (test_roster_progress_is_reported_…)."""
    calls = []
    result = import_children(content, scope=scope, progress=lambda *step: calls.append(step), **options)
    return result, calls


def test_roster_commit_reuses_the_preview_of_the_same_file_and_importer(cast, ids, monkeypatch):
    content = xlsx_bytes(ids)  # one file: openpyxl stamps each save with the time
    scope = ImportScope.for_user(cast["county"])

    preview, judged_by_preview = _import_reporting(content, scope)
    committed, reported = _import_reporting(content, scope, commit=True, skip_invalid=True)

    assert (judged_by_preview, reported) == ([(6, 9), (6, 6)], [(6, 6), (6, 6)])  # not judged again
    assert committed.summary() == preview.summary() | {"created": 2}
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted([ids["a"], ids["x"]])


def test_roster_commit_judges_again_when_the_registry_changed_since_the_preview(cast, tree, ids, monkeypatch):
    content = xlsx_bytes(ids)  # one file: openpyxl stamps each save with the time
    scope = ImportScope.for_user(cast["county"])
    _, judged_by_preview = _import_reporting(content, scope)
    make_child(tree["410923100201"], id_number=ids["x"])  # someone registers one of the file's children

    committed, judged_by_commit = _import_reporting(content, scope, commit=True, skip_invalid=True)

    assert judged_by_commit == judged_by_preview  # judged again
    assert {"row": 8, "column": "身份证号", "message": duplicate_id_message(ids["x"])} in committed.summary()[
        "errors"
    ]
    assert committed.summary()["created"] == 1


def test_roster_commit_by_another_importer_judges_again(cast, tree, ids, monkeypatch):
    content = xlsx_bytes(ids)  # one file: openpyxl stamps each save with the time
    _, judged_by_preview = _import_reporting(content, ImportScope.for_user(cast["county"]))

    _, judged_by_commit = _import_reporting(
        content, ImportScope.for_user(None), commit=True, skip_invalid=True
    )

    assert judged_by_commit == judged_by_preview  # judged again


def test_roster_invalid_rows_workbook_fixed_and_imported_again(cast, ids):
    scope = ImportScope.for_user(cast["county"])
    first = import_children(xlsx_bytes(ids), scope=scope, commit=True, skip_invalid=True)

    book = openpyxl.load_workbook(io.BytesIO(invalid_rows_workbook(first)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[0] == "原行号" and header[-1] == "错误原因"
    assert header[1:5] == ["序号", "姓名", "性别", "身份证号码"]
    assert "监护人姓名" in header and "联系电话" in header
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert sorted(rows) == [7, 9, 10, 11]
    column = {name: index for index, name in enumerate(header)}
    assert rows[7][column["错误原因"]].value == f"第7行 身份证号：{ID_AS_NUMBER}"
    assert rows[7][column["身份证号码"]].value == ids["b"][:15] + "000"
    assert rows[7][column["身份证号码"]].number_format == "@"
    assert rows[10][column["姓名"]].value == "张小明"

    fresh = make_id_number("410922", ids["birth"])
    rows[7][column["身份证号码"]].value = ids["b"]
    rows[9][column["父亲状况"]].value = "外出务工"
    rows[10][column["身份证号码"]].value = fresh
    for name, value in (("县(区)", "县1"), ("乡镇(街道)", "县1镇1"), ("村（社区）", "县1镇1村1")):
        rows[11][column[name]].value = value
    out = io.BytesIO()
    book.save(out)

    again = import_children(out.getvalue(), scope=scope, commit=True)

    assert again.errors == []
    assert verdicts(again) == [(2, "new"), (3, "new"), (4, "new"), (5, "new")]
    assert Child.objects.count() == 6
    assert Child.objects.get(id_number=fresh).name == "张小明"


def test_roster_command_names_a_missing_file_in_chinese(cast, tmp_path):
    with pytest.raises(CommandError) as refused:
        call_command("import_roster", str(tmp_path / "没有.xlsx"), "--kind", "child", stdout=io.StringIO())
    assert str(refused.value) == f"找不到文件：{tmp_path / '没有.xlsx'}"
    with pytest.raises(CommandError) as refused:
        call_command("import_roster", str(tmp_path), "--kind", "child", stdout=io.StringIO())
    assert str(refused.value) == f"“{tmp_path}”是文件夹，请给出花名册文件"
    assert Child.objects.count() == 0


def test_roster_unhashable_cell_is_judged_without_being_remembered(cast, ids):
    """The cell memo keys cells by value; a cell no reader gives today (a list) is still judged."""
    judge = pipeline._Judge(pipeline.SPECS["child"], ImportScope.for_user(cast["county"]), _header())

    assert judge._clean_cell("备注", ["不", "可", "哈希"]) == (True, "['不', '可', '哈希']")
    assert judge._clean_cell("备注", "说明") == (True, "说明")
    assert judge.cells["备注"] == {(str, "说明"): (True, "说明")}


def _header():
    header_row = (1, ["姓名", "身份证号", "村(社区)", "备注"])
    return find_header([header_row], pipeline.SPECS["child"].header_columns)


def test_filter_in_finds_every_value_across_chunks(cast, tree, ids, monkeypatch):
    """The import's lookups by ID number: one array parameter on PostgreSQL, chunks elsewhere."""
    monkeypatch.setattr(bulk, "IN_CHUNK", 2)
    numbers = [make_child(tree["410922100201"]).id_number for _ in range(5)]
    asked = numbers[:4] + [ids["b"], "'; DROP TABLE registry_child; --"]

    found = bulk.filter_in(Child.objects.all(), "id_number", asked)

    assert sorted(c.id_number for c in found) == sorted(numbers[:4])
    assert list(bulk.filter_in(Child.objects.all(), "id_number", [])) == []
    assert Child.objects.count() == 5


