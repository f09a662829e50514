"""The roster templates of the three registers: header, drop-downs, text columns, instructions —
and each, filled in with its own example row, imports."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from registry.choices import Category, GuardianshipType, LivingArrangement
from registry.models import Child, Elder, Woman
from registry.roster.pipeline import IMPORTERS, ImportScope, import_children
from registry.roster.template import EXPLANATIONS, TEMPLATE_COLUMNS, TEMPLATES
from tests.factories import make_id_number, years_ago

SLUGS = {"children": Category.CHILD, "women": Category.WOMAN, "elders": Category.ELDER}


def _download(client, user, kind="children"):
    client.force_login(user)
    return client.get(reverse("record_template", kwargs={"kind": kind}))


@pytest.mark.parametrize("kind", SLUGS)
@pytest.mark.parametrize(
    ("who", "status"), [("county", 200), ("city", 200), ("township", 404), ("cadre_a", 404)]
)
def test_template_is_for_those_who_import(client, cast, who, status, kind):
    response = _download(client, cast[who], kind)
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_template_url_is_under_each_register():
    assert reverse("record_template", kwargs={"kind": "children"}) == "/children/template.xlsx"
    assert reverse("record_template", kwargs={"kind": "elders"}) == "/elders/template.xlsx"


def test_template_has_header_dropdowns_text_columns_and_instructions(client, cast):
    wb = load_workbook(BytesIO(_download(client, cast["county"]).content))
    sheet, notes = wb["留守儿童"], wb["填写说明"]
    assert [c.value for c in sheet[1]] == TEMPLATE_COLUMNS
    column = {name: index for index, name in enumerate(TEMPLATE_COLUMNS, start=1)}
    assert sheet.cell(2, column["身份证号"]).number_format == "@"
    assert sheet.cell(2, column["监护人电话"]).number_format == "@"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    letter = sheet.cell(2, column["监护类型"]).column_letter
    assert lists[f"{letter}2"] == '"' + ",".join(GuardianshipType.labels) + '"'
    assert [
        row[0].value for row in notes.iter_rows(min_row=2, max_row=len(TEMPLATE_COLUMNS) + 1)
    ] == TEMPLATE_COLUMNS


@pytest.mark.parametrize(
    ("kind", "sheet_name", "text", "dropdown", "labels"),
    [
        ("women", "留守妇女", ["身份证号", "村代码", "联系电话", "丈夫电话"], "性别", ["男", "女"]),
        (
            "elders",
            "留守老人",
            ["身份证号", "村代码", "联系电话", "照料人电话"],
            "居住情况",
            LivingArrangement.labels,
        ),
    ],
)
def test_women_and_elders_templates(client, cast, kind, sheet_name, text, dropdown, labels):
    spec = TEMPLATES[SLUGS[kind]]
    response = _download(client, cast["county"], kind)
    assert sheet_name in response["Content-Disposition"] or "%" in response["Content-Disposition"]
    wb = load_workbook(BytesIO(response.content))
    sheet, notes = wb[sheet_name], wb["填写说明"]
    header = [c.value for c in sheet[1]]
    assert header == spec.columns
    column = {name: index for index, name in enumerate(header, start=1)}
    for name in text:
        assert sheet.cell(2, column[name]).number_format == "@", name
    assert sheet.cell(2, column["姓名"]).number_format == "General"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists[f"{sheet.cell(2, column[dropdown]).column_letter}2"] == '"' + ",".join(labels) + '"'
    described = {row[0].value: row for row in notes.iter_rows(min_row=2, max_row=len(header) + 1)}
    assert list(described) == header
    assert described[dropdown][2].value == "、".join(labels)
    assert all(described[name][3].value is not None for name in ("姓名", "身份证号", "子女数"))


def test_the_filled_template_imports(client, cast, tree):
    wb = load_workbook(BytesIO(_download(client, cast["county"]).content))
    sheet = wb["留守儿童"]
    example = {name: EXPLANATIONS[name][1] for name in TEMPLATE_COLUMNS}
    example.update(
        {
            "身份证号": make_id_number("410922", years_ago(9, days=40)),
            "村代码": "410922100201",
            "出生日期": "",
        }
    )
    for index, name in enumerate(TEMPLATE_COLUMNS, start=1):
        sheet.cell(2, index, example[name])
    buffer = BytesIO()
    wb.save(buffer)
    result = import_children(buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)
    assert result.errors == []
    child = Child.objects.get()
    assert (child.name, child.village.code, child.guardian_assessment) == ("张小明", "410922100201", "good")


@pytest.mark.parametrize(
    ("kind", "model", "age", "sex"), [("women", Woman, 35, "female"), ("elders", Elder, 70, "male")]
)
def test_the_filled_women_and_elders_templates_import(client, cast, tree, kind, model, age, sex):
    category = SLUGS[kind]
    spec = TEMPLATES[category]
    wb = load_workbook(BytesIO(_download(client, cast["county"], kind).content))
    sheet = wb.worksheets[0]
    example = {name: spec.explanations[name][1] for name in spec.columns}
    number = make_id_number("410922", years_ago(age, days=40), sex=sex)
    example.update({"身份证号": number, "村代码": "410922100201", "出生日期": ""})
    for index, name in enumerate(spec.columns, start=1):
        sheet.cell(2, index, example[name])
    buffer = BytesIO()
    wb.save(buffer)

    result = IMPORTERS[category](buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)

    assert result.errors == []
    record = model.objects.get()
    assert (record.name, record.id_number, record.village.code) == (example["姓名"], number, "410922100201")
    assert record.phone == "13912345678"


# --- what the entry form records beside the canonical columns ------------------------------


def test_template_carries_the_entry_forms_ids_phones_and_addresses(client, cast):
    header = [
        c.value for c in load_workbook(BytesIO(_download(client, cast["county"]).content))["留守儿童"][1]
    ]
    assert header == [
        "序号", "姓名", "性别", "身份证号", "出生日期", "县(区)", "乡镇(街道)", "村(社区)", "村代码", "民族",
        "户籍所在地", "现居住地", "就读学校", "年级", "健康状况", "监护类型", "监护人姓名", "监护人身份证号",
        "与儿童关系", "监护人电话", "父亲姓名", "父亲状况", "父亲务工地", "父亲身份证号", "父亲电话",
        "母亲姓名", "母亲状况", "母亲务工地", "母亲身份证号", "母亲电话", "就学情况", "是否寄宿", "监护评估",
        "备注",
    ]  # fmt: skip
    sheet = load_workbook(BytesIO(_download(client, cast["county"]).content))["留守儿童"]
    formats = {name: sheet.cell(2, header.index(name) + 1).number_format for name in header[10:30]}
    assert [name for name, shown in formats.items() if shown == "@"] == [
        "监护人身份证号", "监护人电话", "父亲身份证号", "父亲电话", "母亲身份证号", "母亲电话",
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["women", "elders"])
def test_women_and_elders_templates_carry_the_addresses(client, cast, kind):
    header = [
        c.value
        for c in load_workbook(BytesIO(_download(client, cast["county"], kind).content)).worksheets[0][1]
    ]
    assert header[9:12] == ["民族", "户籍所在地", "现居住地"]


def test_the_filled_template_imports_the_ids_phones_and_addresses(client, cast, tree):
    wb = load_workbook(BytesIO(_download(client, cast["county"]).content))
    sheet = wb["留守儿童"]
    example = {name: EXPLANATIONS[name][1] for name in TEMPLATE_COLUMNS}
    number = make_id_number("410922", years_ago(9, days=40))
    example.update({"身份证号": number, "村代码": "410922100201", "出生日期": ""})
    for index, name in enumerate(TEMPLATE_COLUMNS, start=1):
        sheet.cell(2, index, example[name])
    buffer = BytesIO()
    wb.save(buffer)
    result = import_children(buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)
    assert result.errors == []
    child = Child.objects.get()
    assert (
        child.hukou_address,
        child.current_address,
        child.guardian_id_number,
        child.father_id_number,
        child.father_phone,
        child.mother_id_number,
        child.mother_phone,
    ) == (
        "清丰县城关镇余楼村",
        "清丰县城关镇余楼村",
        "41092219620305123X",
        "410922198503051230",
        "13712345678",
        "410922198706121243",
        "13612345678",
    )


@pytest.mark.parametrize(("kind", "model", "age"), [("women", Woman, 35), ("elders", Elder, 70)])
def test_the_filled_women_and_elders_templates_import_the_addresses(client, cast, tree, kind, model, age):
    category = SLUGS[kind]
    spec = TEMPLATES[category]
    wb = load_workbook(BytesIO(_download(client, cast["county"], kind).content))
    example = {name: spec.explanations[name][1] for name in spec.columns}
    example.update(
        {
            "身份证号": make_id_number("410922", years_ago(age, days=40), sex="female"),
            "村代码": "410922100201",
            "出生日期": "",
            "性别": "",
            "户籍所在地": "清丰县马庄桥镇",
            "现居住地": "清丰县城关镇",
        }
    )
    for index, name in enumerate(spec.columns, start=1):
        wb.worksheets[0].cell(2, index, example[name])
    buffer = BytesIO()
    wb.save(buffer)
    result = IMPORTERS[category](buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)
    assert result.errors == []
    record = model.objects.get()
    assert (record.hukou_address, record.current_address) == ("清丰县马庄桥镇", "清丰县城关镇")


def test_a_village_roster_names_ids_phones_and_addresses_its_own_way(cast, tree):
    """Headers as village files write them, one level and under a 父亲情况/母亲情况/监护人情况 group."""
    wb = Workbook()
    sheet = wb.active
    sheet.append(["", "", "", "", "", "", "", "父亲情况", "", "", "母亲情况", "", "", "监护人情况", "", ""])
    sheet.append(
        [
            "姓名", "身份证号码", "村代码", "监护类型", "户口所在地", "现住地址", "监护评估",
            "状况", "身份证", "联系方式", "状况", "公民身份号码", "手机号码", "姓名", "身份证", "联系电话",
        ]
    )  # fmt: skip
    number = make_id_number("410922", years_ago(9, days=40))
    sheet.append(
        [
            "李小雨", number, "410922100201", "祖辈监护", "清丰县城关镇余楼村", "清丰县城关镇",
            "监护情况较好",
            "外出务工", "410922198503051230", "13712345678",
            "外出务工", "410922198706121243", "13612345678",
            "李大山", "41092219620305123X", "13812345678",
        ]
    )  # fmt: skip
    buffer = BytesIO()
    wb.save(buffer)
    result = import_children(buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)
    assert result.errors == []
    child = Child.objects.get()
    assert (
        child.hukou_address,
        child.current_address,
        child.father_id_number,
        child.father_phone,
        child.mother_id_number,
        child.mother_phone,
        child.guardian_name,
        child.guardian_id_number,
        child.guardian_phone,
    ) == (
        "清丰县城关镇余楼村",
        "清丰县城关镇",
        "410922198503051230",
        "13712345678",
        "410922198706121243",
        "13612345678",
        "李大山",
        "41092219620305123X",
        "13812345678",
    )


def test_a_village_roster_with_one_level_headers_for_parents_phones(cast, tree):
    wb = Workbook()
    sheet = wb.active
    sheet.append(
        [
            "姓名", "身份证号", "村代码", "监护类型", "监护评估", "父亲状况", "母亲状况",
            "父亲手机号码", "母亲联系方式", "监护人身份证",
        ]
    )  # fmt: skip
    number = make_id_number("410922", years_ago(9, days=40))
    sheet.append(
        [
            "王小雨", number, "410922100201", "祖辈监护", "监护情况较好", "外出务工", "外出务工",
            "13712345678", "13612345678", "41092219620305123X",
        ]
    )  # fmt: skip
    buffer = BytesIO()
    wb.save(buffer)
    result = import_children(buffer.getvalue(), scope=ImportScope.for_user(cast["county"]), commit=True)
    assert result.errors == []
    child = Child.objects.get()
    assert (child.father_phone, child.mother_phone, child.guardian_id_number) == (
        "13712345678",
        "13612345678",
        "41092219620305123X",
    )
