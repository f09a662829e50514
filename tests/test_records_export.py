"""Export of a filtered record list to xlsx: the list's scope and filters, text ID and phone
cells, a liaison's masking, formula injection escaped, and the access log with the row count."""

from io import BytesIO
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AuditEvent
from registry import records
from registry.choices import ExitReason
from tests.factories import ChildFactory, ElderFactory, WomanFactory, make_id_number, years_ago

A, B, C = "410922100201", "410922100202", "410923100201"
FACTORIES = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}


def _export(client, user, params=None, slug="children"):
    client.force_login(user)
    return client.get(reverse("record_export", kwargs={"kind": slug}), params or {})


def _sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(BytesIO(b"".join(response.streaming_content)))
    assert len(workbook.worksheets) == 1
    return workbook.worksheets[0]


def _rows(sheet):
    """The data rows as dicts keyed by the header's labels."""
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


def _cells(sheet, label):
    """The data cells of the column headed ``label``."""
    header = [cell.value for cell in sheet[1]]
    column = header.index(label) + 1
    return [row[0] for row in sheet.iter_rows(min_row=2, min_col=column, max_col=column)]


def test_export_holds_the_county_officers_county_only(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    ChildFactory(village=tree[B], name="乙")
    ChildFactory(village=tree[C], name="丙")
    rows = _rows(_sheet(_export(client, cast["county"])))
    assert sorted(row["姓名"] for row in rows) == ["乙", "甲"]
    assert sorted(row["村代码"] for row in rows) == [A, B]


def test_export_applies_the_lists_filters(client, cast, tree):
    ChildFactory(village=tree[A], name="甲一")
    ChildFactory(village=tree[A], name="乙二")
    ChildFactory(village=tree[B], name="甲三")
    exited = ChildFactory(village=tree[A], name="甲四")
    records.record_exit(
        record=exited, user=cast["county"], reason=ExitReason.MOVED_OUT, date=timezone.localdate(), note="",
        version=exited.version,
    )  # fmt: skip
    village = tree[A].pk
    assert [
        r["姓名"] for r in _rows(_sheet(_export(client, cast["county"], {"village": village, "q": "甲"})))
    ] == ["甲一"]
    assert sorted(r["姓名"] for r in _rows(_sheet(_export(client, cast["township"], {"q": "甲"})))) == [
        "甲一",
        "甲三",
    ]
    rows = _rows(_sheet(_export(client, cast["cadre_a"], {"status": "exited"})))
    assert [(r["姓名"], r["状态"], r["退出原因"]) for r in rows] == [("甲四", "已退出", "迁出")]


def test_export_header_and_labels_of_a_child(client, cast, tree):
    ChildFactory(village=tree[A], name="甲", boarding=True, assistance=["subsistence", "medical"])
    sheet = _sheet(_export(client, cast["cadre_a"]))
    header = [cell.value for cell in sheet[1]]
    assert header[:8] == [
        "县（区）",
        "乡镇（街道）",
        "村（社区）",
        "村代码",
        "姓名",
        "身份证号",
        "性别",
        "出生日期",
    ]
    assert header[-4:] == ["状态", "退出原因", "退出日期", "退出说明"]
    (row,) = _rows(sheet)
    assert (row["县（区）"], row["乡镇（街道）"], row["村（社区）"]) == ("县1", "县1镇1", "县1镇1村1")
    assert (row["性别"], row["监护类型"], row["父亲状况"], row["寄宿"]) == (
        "男",
        "祖辈监护",
        "外出务工",
        "是",
    )
    assert (row["享受救助"], row["留守类型"], row["高风险"], row["状态"]) == (
        "低保、医疗救助",
        "双亲留守",
        "否",
        "在册",
    )
    assert row["出生日期"].date() == years_ago(9, days=40)


@pytest.mark.parametrize("slug", ["children", "women", "elders"])
def test_export_id_and_phone_numbers_are_text_with_every_character(client, cast, tree, slug):
    number = make_id_number("410922", years_ago({"children": 9, "women": 35, "elders": 68}[slug], days=40),
                            sex="female" if slug == "women" else "male", check="X")  # fmt: skip
    phone = {"children": "guardian_phone", "women": "husband_phone", "elders": "caregiver_phone"}[slug]
    record = FACTORIES[slug](village=tree[A], id_number=number, **{phone: "13812345678"})
    sheet = _sheet(_export(client, cast["cadre_a"], slug=slug))
    (cell,) = _cells(sheet, "身份证号")
    assert (cell.value, cell.data_type, cell.number_format, len(cell.value)) == (number, "s", "@", 18)
    (cell,) = _cells(sheet, record._meta.get_field(phone).verbose_name)
    assert (cell.value, cell.data_type, cell.number_format) == ("13812345678", "s", "@")
    (cell,) = _cells(sheet, "村代码")
    assert (cell.value, cell.number_format) == (A, "@")


def test_export_for_a_liaison_is_masked(client, cast, tree):
    number = make_id_number("410922", years_ago(9, days=40))
    father = make_id_number("410922", years_ago(35, days=40))
    ChildFactory(
        village=tree[A], id_number=number, father_id_number=father, guardian_phone="13812345678",
        father_phone="13611112222",
    )  # fmt: skip
    sheet = _sheet(_export(client, cast["liaison"]))
    (row,) = _rows(sheet)
    assert (row["身份证号"], row["父亲身份证号"]) == (
        records.mask_id_number(number),
        records.mask_id_number(father),
    )
    assert (row["监护人电话"], row["父亲电话"]) == ("138****5678", "136****2222")
    assert row["出生日期"] == f"{years_ago(9, days=40).year}年"
    every_value = " ".join(str(v) for r in sheet.iter_rows(values_only=True) for v in r)
    assert [s for s in (number, father, "13812345678", "13611112222") if s in every_value] == []


def test_export_for_anyone_else_is_not_masked(client, cast, tree):
    number = make_id_number("410922", years_ago(9, days=40))
    ChildFactory(village=tree[A], id_number=number)
    (row,) = _rows(_sheet(_export(client, cast["city"])))
    assert (row["身份证号"], row["监护人电话"]) == (number, "13900001111")


def test_export_escapes_formula_injection(client, cast, tree):
    ChildFactory(
        village=tree[A],
        name='=HYPERLINK("http://x")',
        note="+1+1",
        guardian_name="@SUM(1)",
        school_name="-2+3",
        grade="\t=1",
        needs="正常文字=不转义",
    )
    sheet = _sheet(_export(client, cast["cadre_a"]))
    (row,) = _rows(sheet)
    assert (row["姓名"], row["备注"], row["监护人姓名"], row["就读学校"], row["年级"], row["主要需求"]) == (
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'@SUM(1)",
        "'-2+3",
        "'\t=1",
        "正常文字=不转义",
    )
    assert {cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None} <= {
        "s",
        "n",
        "d",
    }


def test_export_writes_the_access_log_with_the_row_count(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    ChildFactory(village=tree[B], name="甲乙")
    ChildFactory(village=tree[C], name="甲丙")
    client.force_login(cast["township"])
    url = reverse("record_export", kwargs={"kind": "children"})
    response = client.get(url, {"q": "甲", "page": "3"}, REMOTE_ADDR="10.20.30.42")
    assert len(_rows(_sheet(response))) == 2
    log = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert (log.user, log.object_type, log.object_id, log.row_count, log.detail, log.ip_address) == (
        cast["township"],
        "registry.child",
        None,
        2,
        "导出记录（2 条结果）；搜索：***",
        "10.20.30.42",
    )


def test_export_file_name_is_chinese_with_the_date(client, cast, tree):
    response = _export(client, cast["county"], slug="women")
    name = f"留守妇女名单_{timezone.localdate():%Y-%m-%d}.xlsx"
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''" + quote(name)
    sheet = _sheet(response)
    assert (sheet.title, sheet.max_row, _rows(sheet)) == ("留守妇女", 1, [])


@pytest.mark.parametrize("who", ["sysadmin"])
def test_export_outside_the_policy_is_404_and_not_logged(client, cast, who):
    assert _export(client, cast[who]).status_code == 404
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 0


def test_export_anonymous_is_sent_to_login_and_post_is_405(client, cast):
    url = reverse("record_export", kwargs={"kind": "children"})
    assert client.get(url).status_code == 302
    client.force_login(cast["county"])
    assert client.post(url).status_code == 405


def test_export_list_page_has_the_button_with_the_query(client, cast):
    client.force_login(cast["county"])
    body = client.get(
        reverse("record_list", kwargs={"kind": "elders"}), {"q": "张", "page": "2"}
    ).content.decode()
    assert 'href="/elders/export.xlsx?q=%E5%BC%A0">导出Excel</a>' in body


def test_export_query_count_does_not_grow(client, cast, tree):
    client.force_login(cast["city"])
    url = reverse("record_export", kwargs={"kind": "children"})

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        return len(queries), len(_rows(_sheet(response)))

    ChildFactory(village=tree[A])
    count()  # the first request of a session costs its own queries
    one, rows = count()
    assert rows == 1
    for village in (A, B, C, A, B, C, A):
        ChildFactory(village=tree[village])
    assert count() == (one, 8)
