"""The roster import of women and elders: the children's pipeline, rules and contract on their
own messy village workbooks (title row, two-level header, 合计 row, full-width digits, an ID
stored as a number, a duplicate, an out-of-scope village)."""

import io
import json

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role
from registry import bulk
from registry.choices import Category, HistorySource, LivingArrangement, Sex
from registry.models import Elder, IdentityClaim, Woman
from registry.records import duplicate_id_message
from registry.roster import pipeline
from registry.roster.errors import invalid_rows_workbook
from registry.roster.normalize import ID_AS_NUMBER
from registry.roster.pipeline import IMPORTERS, ImportScope
from registry.roster.reader import RosterFileError
from tests.factories import UserFactory, make_elder, make_id_number, make_woman, roster_json, years_ago

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
IN_SCOPE = ("县1", "县1镇1", "县1镇1村1")
OUT_OF_SCOPE = ("县2", "县2镇1", "县2镇1村1")
TOTAL = ["合计", "5人"]
NOTE = ["注：本表由村委会填写，乡镇审核。"]


def workbook(rows, merges=()):
    book = openpyxl.Workbook()
    sheet = book.active
    for r, cells in enumerate(rows, start=1):
        for c, value in enumerate(cells, start=1):
            if value != "":
                sheet.cell(row=r, column=c, value=value)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def verdicts(result):
    return [(row.row, row.verdict) for row in result.rows]


def errors_of(result):
    return [(e.row, e.column, e.message) for e in result.errors]


# --- women ---------------------------------------------------------------------------------

WOMAN_TOP = ["序号", "妇女姓名", "身份证号码", "县(区)", "乡镇(街道)", "村（社区）", "联系电话",
             "丈夫情况", "", "", "", "子女数", "未成年子女数", "备注"]  # fmt: skip
WOMAN_SUB = ["", "", "", "", "", "", "", "姓名", "务工地", "外出月数", "联系电话", "", "", ""]


def import_command(path, kind, *options, user="county", out=None):
    """What ``import_roster PATH --kind KIND --user USER OPTIONS`` prints."""
    out = out or io.StringIO()
    call_command("import_roster", str(path), "--kind", kind, "--user", user, *options, stdout=out)
    return out.getvalue()


def json_contract_and_idempotence(path, kind, model, errors, number, after_commit=None):
    """A dry run and a commit of ``path`` (6 rows, 2 valid) print the contract's object with
    ``errors``; the record of ``number`` comes from the import (``after_commit(record)`` checks
    more); a second commit changes nothing."""

    def run(*extra):
        return json.loads(import_command(path, kind, "--json", *extra))

    expected = roster_json(errors)
    assert run() == expected
    assert model.objects.count() == 0
    assert run("--commit", "--skip-invalid") == expected
    record = model.objects.get(id_number=number)
    assert record.history.get().history_change_reason == HistorySource.IMPORT
    if after_commit:
        after_commit(record)

    again = run("--commit", "--skip-invalid")

    assert (again["created"], again["updated"], again["unchanged"], again["invalid"]) == (0, 0, 2, 4)
    assert record.history.count() == 1


@pytest.fixture
def women(db):
    birth = years_ago(35, days=40)
    return {
        "birth": birth,
        **{k: make_id_number("410922", birth, sex=Sex.FEMALE) for k in "abd"},
        "x": make_id_number("410922", birth, sex=Sex.FEMALE, check="X"),
        "e": make_id_number("410923", birth, sex=Sex.FEMALE),
    }


def woman(no, name, number, months, place=IN_SCOPE, phone="13812345678", children=(2, 1)):
    return [no, name, number, *place, phone, "张建国", "广东省深圳市", months, "13712345678", *children, ""]


def women_file(ids):
    return workbook(
        [
            ["县1镇1留守妇女花名册"],
            ["填报单位：县1镇1人民政府", "", "", "", "", "", "", "填报日期：2024年5月1日"],
            WOMAN_TOP,
            WOMAN_SUB,
            woman(1, "王 秀 兰", " " + ids["a"].translate(FULL_WIDTH), "１２个月", phone=13812345678.0),
            [],
            woman(2, "李桂英", float(int(ids["b"][:15] + "000")), 12),
            woman(3, "赵玉梅", ids["x"].lower(), 8.0, children=("３", 0)),
            woman(4, "孙丽", ids["d"], "很久"),
            woman(5, "王秀兰", ids["a"], 12),
            woman(6, "周芳", ids["e"], 12, place=OUT_OF_SCOPE),
            TOTAL,
            NOTE,
        ],
        merges=["A1:N1", "H3:K3"] + [f"{c}3:{c}4" for c in "ABCDEFGLMN"],
    )


WOMEN_ERRORS = [
    (7, "身份证号", ID_AS_NUMBER),
    (9, "丈夫外出月数", "丈夫外出月数“很久”无法识别，请填写数字"),
    (10, "身份证号", "与第5行的身份证号重复，同一人只能登记一次"),
    (11, "村(社区)", "在您可导入的范围内找不到“县2县2镇1县2镇1村1”，请核对县、乡镇、村名称或填写村代码"),
]
VERDICTS = [(5, "new"), (7, "invalid"), (8, "new"), (9, "invalid"), (10, "invalid"), (11, "invalid")]


def test_women_workbook_gives_exact_verdicts_per_row(cast, women):
    result = IMPORTERS[Category.WOMAN](women_file(women), scope=ImportScope.for_user(cast["county"]))

    assert verdicts(result) == VERDICTS
    assert errors_of(result) == WOMEN_ERRORS
    first, third = result.rows[0].data, result.rows[2].data
    assert (first["name"], first["id_number"], first["sex"], first["birth_date"]) == (
        "王秀兰",
        women["a"],
        Sex.FEMALE,
        women["birth"],
    )
    assert (first["phone"], first["husband_months_away"], first["husband_phone"]) == (
        "13812345678",
        12,
        "13712345678",
    )
    assert (first["husband_name"], first["husband_work_place"], first["village"].code) == (
        "张建国",
        "广东省深圳市",
        "410922100201",
    )
    assert (third["id_number"], third["husband_months_away"], third["children_count"]) == (women["x"], 8, 3)
    assert Woman.objects.count() == 0


def test_women_rules_of_the_entry_form_apply(cast, women):
    man = make_id_number("410922", years_ago(35), sex=Sex.MALE)
    young = make_id_number("410922", years_ago(18), sex=Sex.FEMALE)
    content = workbook(
        [
            WOMAN_TOP,
            WOMAN_SUB,
            woman(1, "男人", man, 12),
            woman(2, "少女", young, 12),
            woman(3, "短期", women["a"], 2),
            woman(4, "多子女", women["b"], 12, children=(1, 2)),
        ]
    )

    result = IMPORTERS[Category.WOMAN](content, scope=ImportScope.for_user(cast["county"]))

    assert errors_of(result) == [
        (3, "整行", "留守妇女应为女性"),
        (4, "整行", "未满20周岁，不属于留守妇女"),
        (5, "整行", "丈夫外出务工不满6个月，不属于留守妇女"),
        (6, "未成年子女数", "未成年子女数不能多于子女数"),
    ]


def test_women_command_json_contract_and_idempotence(cast, women, tmp_path):
    path = tmp_path / "women.xlsx"
    path.write_bytes(women_file(women))

    def after_commit(record):
        assert sorted(Woman.objects.values_list("id_number", flat=True)) == sorted([women["a"], women["x"]])
        assert record.created_by == cast["county"]

    json_contract_and_idempotence(path, "woman", Woman, WOMEN_ERRORS, women["a"], after_commit)


def test_women_refused_file_writes_nothing(cast, women, tmp_path):
    path = tmp_path / "women.xlsx"
    path.write_bytes(women_file(women))
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:
        import_command(path, "woman", "--commit", out=out)

    assert refused.value.returncode == 1
    assert out.getvalue().splitlines()[-1] == "共6行：有效2，无效4；新增0，更新0，无变化0"
    assert Woman.objects.count() == 0


def test_women_update_a_record_in_scope(cast, tree, women):
    existing = make_woman(
        tree["410922100201"],
        id_number=women["a"],
        birth_date=women["birth"],
        sex=Sex.FEMALE,
        husband_months_away=7,
    )

    result = IMPORTERS[Category.WOMAN](
        women_file(women), scope=ImportScope.for_user(cast["county"]), commit=True, skip_invalid=True
    )

    assert verdicts(result)[0] == (5, "updated")
    existing.refresh_from_db()
    assert (existing.name, existing.husband_months_away, existing.version) == ("王秀兰", 12, 2)


def test_women_county_officer_of_another_county_cannot_import_into_this_one(cast, tree, women):
    other = UserFactory(username="county2", role=Role.COUNTY_OFFICER, region=tree["410923"])
    make_woman(tree["410922100201"], id_number=women["x"], birth_date=women["birth"], sex=Sex.FEMALE)

    result = IMPORTERS[Category.WOMAN](
        women_file(women), scope=ImportScope.for_user(other), commit=True, skip_invalid=True
    )

    assert verdicts(result)[-1] == (11, "new")
    assert all(row.verdict == "invalid" for row in result.rows[:-1])
    assert ("身份证号", duplicate_id_message(women["x"])) in [
        (e.column, e.message) for e in result.rows[2].errors
    ]
    assert "找不到“县1县1镇1县1镇1村1”" in result.rows[0].errors[0].message
    assert list(Woman.objects.order_by("pk").values_list("village__code", flat=True)) == [
        "410922100201",
        "410923100201",
    ]
    with pytest.raises(RosterFileError):
        ImportScope.for_user(cast["cadre_a"])


def test_women_failure_after_every_row_is_written_rolls_back_every_row(cast, women, monkeypatch):
    """A fault once the records and their ID claims are in the database (here: writing their
    history) leaves nothing behind."""
    write, calls = bulk.insert_with_history, []

    def fail_after_writing(model, objs, **kwargs):
        write(model, objs, **kwargs)
        calls.append(Woman.objects.count())
        raise ValidationError("模拟：写入历史后出错")

    monkeypatch.setattr(bulk, "insert_with_history", fail_after_writing)
    claims = IdentityClaim.objects.count()

    result = IMPORTERS[Category.WOMAN](
        women_file(women), scope=ImportScope.for_user(cast["county"]), commit=True, skip_invalid=True
    )

    assert result.refused and not result.committed
    assert calls and calls[0] > 0  # the rows had been written when the fault came
    assert Woman.objects.count() == 0
    assert IdentityClaim.objects.count() == claims
    assert result.summary()["created"] == 0


def test_women_invalid_rows_workbook_fixed_and_imported_again(cast, women):
    scope = ImportScope.for_user(cast["county"])
    first = IMPORTERS[Category.WOMAN](women_file(women), scope=scope, commit=True, skip_invalid=True)
    book = openpyxl.load_workbook(io.BytesIO(invalid_rows_workbook(first)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header == ["原行号", "序号", "妇女姓名", "身份证号码", "县(区)", "乡镇(街道)", "村（社区）",
                      "联系电话", "丈夫姓名", "丈夫务工地", "外出月数", "丈夫电话", "子女数",
                      "未成年子女数", "备注", "错误原因"]  # fmt: skip
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    column = {name: index for index, name in enumerate(header)}
    rows[7][column["身份证号码"]].value = women["b"]
    rows[9][column["外出月数"]].value = "10个月"
    rows[10][column["身份证号码"]].value = make_id_number("410922", women["birth"], sex=Sex.FEMALE)
    rows[11][column["村（社区）"]].value = None
    rows[11][column["县(区)"]].value = None
    rows[11][column["乡镇(街道)"]].value = None
    rows[11][column["村（社区）"]].value = "县1镇1村2"
    out = io.BytesIO()
    book.save(out)

    again = IMPORTERS[Category.WOMAN](out.getvalue(), scope=scope, commit=True)

    assert again.errors == []
    assert Woman.objects.count() == 6


# --- elders --------------------------------------------------------------------------------

ELDER_HEADER = ["序号", "老人姓名", "性别", "公民身份号码", "县区", "乡镇", "村", "联系电话", "居住情况",
                "子女数", "外出子女数", "子女外出最短月数", "照料人", "照料人电话", "备注"]  # fmt: skip


@pytest.fixture
def elders(db):
    birth = years_ago(70, days=40)
    return {
        "birth": birth,
        **{k: make_id_number("410922", birth) for k in "abd"},
        "x": make_id_number("410922", birth, check="X"),
        "e": make_id_number("410923", birth),
    }


def elder(no, name, number, living="独居", counts=(2, 2, 24), place=IN_SCOPE, phone="13612345678"):
    return [no, name, "", number, *place, phone, living, *counts, "李小芳", 13612345679.0, ""]


def elders_file(ids):
    return workbook(
        [
            ["县1镇1留守老人花名册"],
            ["填报单位：县1镇1人民政府", "", "", "", "", "", "", "填报日期：2024年5月1日"],
            ELDER_HEADER,
            elder(1, "李 德 山", ids["a"].translate(FULL_WIDTH) + "\u200b"),
            ["", "", "", "", "", ""],
            elder(2, "王长顺", float(int(ids["b"][:15] + "000"))),
            elder(3, "赵福来", ids["x"].lower(), living="与配偶同住", counts=("３", "3人", 12.0)),
            elder(4, "孙守田", ids["d"], counts=(2, 1, 24)),
            elder(5, "李德山", ids["a"]),
            elder(6, "周老汉", ids["e"], place=OUT_OF_SCOPE),
            TOTAL,
            NOTE,
        ],
        merges=["A1:O1"],
    )


ELDERS_ERRORS = [
    (6, "身份证号", ID_AS_NUMBER),
    (8, "整行", "有子女未外出务工，不属于留守老人"),
    (9, "身份证号", "与第4行的身份证号重复，同一人只能登记一次"),
    (10, "村(社区)", "在您可导入的范围内找不到“县2县2镇1县2镇1村1”，请核对县、乡镇、村名称或填写村代码"),
]


def test_elders_workbook_gives_exact_verdicts_per_row(cast, elders):
    result = IMPORTERS[Category.ELDER](elders_file(elders), scope=ImportScope.for_user(cast["county"]))

    assert verdicts(result) == [(4, "new"), (6, "invalid"), (7, "new"), (8, "invalid"), (9, "invalid"),
                                (10, "invalid")]  # fmt: skip
    assert errors_of(result) == ELDERS_ERRORS
    first, third = result.rows[0].data, result.rows[2].data
    assert (first["name"], first["id_number"], first["sex"], first["living_arrangement"]) == (
        "李德山",
        elders["a"],
        Sex.MALE,
        LivingArrangement.ALONE,
    )
    assert (first["caregiver_name"], first["caregiver_phone"]) == ("李小芳", "13612345679")
    assert (third["living_arrangement"], third["children_count"], third["children_away_count"]) == (
        LivingArrangement.WITH_SPOUSE,
        3,
        3,
    )
    assert third["min_months_away"] == 12
    assert Elder.objects.count() == 0


def test_elders_unknown_living_arrangement_lists_what_is_allowed(cast, elders):
    content = workbook([ELDER_HEADER, elder(1, "李德山", elders["a"], living="随便")])

    result = IMPORTERS[Category.ELDER](content, scope=ImportScope.for_user(cast["county"]))

    assert errors_of(result) == [
        (
            2,
            "居住情况",
            "居住情况“随便”无法识别，可填：独居、与配偶同住、与孙辈同住、与其他亲属同住、入住养老机构",
        )
    ]


def test_elders_command_json_contract_and_idempotence(cast, elders, tmp_path):
    path = tmp_path / "elders.xlsx"
    path.write_bytes(elders_file(elders))

    json_contract_and_idempotence(path, "elder", Elder, ELDERS_ERRORS, elders["x"])

    assert Elder.objects.count() == 2


def test_elders_refused_file_writes_nothing(cast, elders, tmp_path):
    path = tmp_path / "elders.xlsx"
    path.write_bytes(elders_file(elders))

    with pytest.raises(CommandError) as refused:
        import_command(path, "elder", "--commit")

    assert refused.value.returncode == 1
    assert Elder.objects.count() == 0


def register_elder_x(village, elders):
    """The file's elder ``x``, registered by a typed entry in ``village``."""
    make_elder(
        village,
        id_number=elders["x"],
        birth_date=elders["birth"],
        living_arrangement="alone",
        children_count=1,
        children_away_count=1,
        min_months_away=12,
    )


def test_elders_county_officer_of_another_county_cannot_import_into_this_one(cast, tree, elders, tmp_path):
    UserFactory(username="county2", role=Role.COUNTY_OFFICER, region=tree["410923"])
    register_elder_x(tree["410922100201"], elders)
    path = tmp_path / "elders.xlsx"
    path.write_bytes(elders_file(elders))

    summary = json.loads(
        import_command(path, "elder", "--commit", "--skip-invalid", "--json", user="county2")
    )
    assert (summary["created"], summary["invalid"]) == (1, 5)
    assert {"row": 7, "column": "身份证号", "message": duplicate_id_message(elders["x"])} in summary["errors"]
    assert sorted(Elder.objects.values_list("village__code", flat=True)) == ["410922100201", "410923100201"]
    with pytest.raises(CommandError):
        import_command(path, "elder", user="cadre_c")


def test_elders_id_claimed_between_preview_and_write_refuses_the_file(cast, tree, elders, monkeypatch):
    """Someone registers one of the file's people while the import runs: the file is refused,
    the row named, nothing written."""
    judge = pipeline._Judge.chunk
    message = []

    def judge_then_someone_registers(*args, **kwargs):
        result = judge(*args, **kwargs)
        register_elder_x(tree["410923100201"], elders)
        message.append(duplicate_id_message(elders["x"]))
        return result

    monkeypatch.setattr(pipeline._Judge, "chunk", judge_then_someone_registers)

    result = IMPORTERS[Category.ELDER](
        elders_file(elders), scope=ImportScope.for_user(cast["county"]), commit=True, skip_invalid=True
    )

    assert result.refused
    assert (7, "整行", message[0]) in errors_of(result)
    # Nothing of the file is written. (Their registration, made here on the import's own
    # connection after its rows were judged, is rolled back with it.)
    assert not Elder.objects.exists()


def test_elders_command_writes_the_invalid_rows_workbook(cast, elders, tmp_path):
    path, out_path = tmp_path / "elders.xlsx", tmp_path / "invalid.xlsx"
    path.write_bytes(elders_file(elders))

    call_command(
        "import_roster", str(path), "--kind", "elder", "--invalid-rows", str(out_path), stdout=io.StringIO()
    )

    sheet = openpyxl.load_workbook(out_path).active
    assert [c.value for c in sheet[1]][:5] == ["原行号", "序号", "老人姓名", "性别", "公民身份号码"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [6, 8, 9]
    assert sheet.cell(3, sheet.max_column).value == "第8行 整行：有子女未外出务工，不属于留守老人"
