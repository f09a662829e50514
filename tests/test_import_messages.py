"""Issue 14 item 12: what an import says. A filled-in template is counted by its data rows, not by
its formatted empty rows and instructions sheet; the 监护评估 note appears only when that column
was missing; and a row with several problems lists every one of them."""

import io

import openpyxl
import pytest
from django.urls import reverse

from registry.choices import Category
from registry.models import ImportJob
from registry.roster.pipeline import ImportScope, import_children
from registry.roster.template import roster_template
from tests.factories import make_id_number, years_ago

VILLAGE = "410922100201"
NOTE = 'id="import-pending-assessment"'


@pytest.fixture
def county(client, cast):
    client.force_login(cast["county"])
    return client


def _template_with(rows, *, drop=()):
    """The children's template from the download, ``rows`` (dicts by column) filled in under the
    header, the columns in ``drop`` deleted."""
    book = openpyxl.load_workbook(io.BytesIO(roster_template(Category.CHILD)))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for r, values in enumerate(rows, start=2):
        for c, column in enumerate(header, start=1):
            if column in values:
                sheet.cell(r, c).value = values[column]
    for column in drop:
        sheet.delete_cols(header.index(column) + 1)
        header.remove(column)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _child(i, **more):
    return {
        "姓名": f"儿童{i}",
        "身份证号": make_id_number(VILLAGE[:6], years_ago(6 + i % 8, days=i)),
        "村代码": VILLAGE,
        "监护类型": "祖辈监护",
        "监护人姓名": "张奶奶",
        "与儿童关系": "祖父母",
        "监护人电话": "13812345678",
        "父亲状况": "外出务工",
        "母亲状况": "外出务工",
        "监护评估": "监护情况较好",
        **more,
    }


def _upload(client, content):
    handle = io.BytesIO(content)
    handle.name = "花名册.xlsx"
    response = client.post(reverse("import_upload"), {"category": "child", "file": handle})
    assert response.status_code == 302, response.content.decode()[:1000]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_a_filled_template_is_counted_by_its_data_rows(county):
    job = _upload(county, _template_with([_child(i) for i in range(6)]))
    page = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    listing = county.get(reverse("import_job_list")).content.decode()
    assert (
        job.summary["rows"],
        page.count('<span id="job-rows">数据 6 行</span>'),
        "数据 6 行" in listing,
    ) == (
        6,
        1,
        True,
    )


def _imported(client, content):
    """The job page once ``content`` is uploaded and confirmed."""
    job = _upload(client, content)
    assert client.post(reverse("import_job_confirm", kwargs={"pk": job.pk})).status_code == 302
    job.refresh_from_db()
    assert (job.state, job.errors) == (ImportJob.State.DONE, [])
    return job, client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()


def test_the_assessment_note_only_when_the_column_was_missing(county):
    with_column, page = _imported(county, _template_with([_child(i) for i in range(2)]))
    assert (with_column.assessment_missing, NOTE in page) == (False, False)
    others = [_child(i + 10) for i in range(2)]
    without, page = _imported(county, _template_with(others, drop=["监护评估"]))
    assert (without.assessment_missing, page.count(NOTE)) == (True, 1)


def test_a_row_with_two_problems_lists_both(cast):
    content = _template_with(
        [_child(1, **{"监护人电话": "12345", "父亲状况": "在家务农", "母亲状况": "在家务农"})]
    )
    result = import_children(content, scope=ImportScope.for_user(cast["county"]))
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "监护人电话", "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）"),
        (2, "整行", "父母均未外出务工，不属于留守儿童"),
    ]


def test_a_repeated_id_in_the_file_still_lists_the_rows_other_problems(cast):
    first = _child(1)
    second = _child(2, **{"身份证号": first["身份证号"], "监护人电话": "12345"})
    result = import_children(_template_with([first, second]), scope=ImportScope.for_user(cast["county"]))
    assert [(e.row, e.column) for e in result.errors] == [(3, "身份证号"), (3, "监护人电话")]
