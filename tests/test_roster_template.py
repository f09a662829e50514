"""The children's roster template: header, drop-downs, text columns, instructions — and it imports."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registry.choices import GuardianshipType
from registry.models import Child
from registry.roster.pipeline import ImportScope, import_children
from registry.roster.template import EXPLANATIONS, TEMPLATE_COLUMNS
from tests.factories import make_id_number, years_ago


def _download(client, user):
    client.force_login(user)
    return client.get(reverse("children_template"))


@pytest.mark.parametrize(
    ("who", "status"), [("county", 200), ("city", 200), ("township", 404), ("cadre_a", 404)]
)
def test_template_is_for_those_who_import(client, cast, who, status):
    assert _download(client, cast[who]).status_code == status


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
