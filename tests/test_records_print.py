"""打印: a record's page and a list print without the site's navigation; the printed list holds
every filtered row (up to PRINT_ROWS), masked as the screen is, and is logged like a list."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from registry import views_records
from tests.factories import ChildFactory, ElderFactory, WomanFactory

A, C = "410922100201", "410923100201"


def _print(client, params=None, slug="children"):
    response = client.get(reverse("record_list", kwargs={"kind": slug}), {**(params or {}), "print": "1"})
    assert response.status_code == 200
    return response


def _rows(body):
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>\s*(<td>.*?)</tr>", body, re.S)
    ]


def test_record_list_print_shows_every_filtered_row_without_navigation(client, cast, tree):
    for i in range(25):
        ChildFactory(village=tree[A], name=f"张{i:02d}")
    ChildFactory(village=tree[A], name="李一")
    client.force_login(cast["cadre_a"])
    list_page = client.get(reverse("record_list", kwargs={"kind": "children"}), {"q": "张"}).content.decode()
    assert (
        '<a class="btn btn-outline-secondary" id="print-list" href="?q=%E5%BC%A0&amp;print=1">打印</a>'
        in list_page
    )
    response = _print(client, {"q": "张"})
    body = response.content.decode()
    assert ("navbar" in body, 'id="filters"' in body, 'id="pagination"' in body) == (False, False, False)
    assert '<button type="button" class="btn btn-primary" data-print>打印</button>' in body
    assert '<a class="btn btn-outline-secondary" href="/children/?q=%E5%BC%A0">返回列表</a>' in body
    rows = _rows(body)
    assert [row[1] for row in rows] == [f"张{i:02d}" for i in range(25)]
    first = response.context["page"].object_list[0]
    assert rows[0] == [
        "1",
        "张00",
        "男",
        first.birth_date.strftime("%Y-%m-%d"),
        first.id_number,
        "县1镇1 · 县1镇1村1",
        "祖辈监护",
        first.guardian_name,
        "在册",
    ]
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LIST).latest("pk")
    assert (event.row_count, event.detail) == (25, "打印名单（25 条结果）；搜索：***")


def test_record_list_print_is_masked_for_a_liaison(client, cast, tree):
    woman = WomanFactory(village=tree[C])
    client.force_login(cast["liaison"])
    rows = _rows(_print(client, slug="women").content.decode())
    assert rows == [
        [
            "1",
            woman.name,
            "女",
            f"{woman.birth_date.year}年",
            f"{woman.id_number[:6]}********{woman.id_number[-4:]}",
            "县2镇1 · 县2镇1村1",
            "在册",
        ]
    ]


def test_record_list_print_past_the_limit_says_so(client, cast, tree, monkeypatch):
    monkeypatch.setattr(views_records, "PRINT_ROWS", 3)
    for _ in range(4):
        ElderFactory(village=tree[A])
    client.force_login(cast["county"])
    body = _print(client, slug="elders").content.decode()
    assert len(_rows(body)) == 3
    assert (
        '<div class="alert alert-warning py-2" id="print-truncated">名单超过 3 人，只打印了前 3 人：'
        "请缩小筛选范围，或导出Excel。</div>"
    ) in body


def test_record_list_print_keeps_the_scope(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    ChildFactory(village=tree[C], name="丁")
    client.force_login(cast["cadre_a"])
    assert [row[1] for row in _rows(_print(client).content.decode())] == ["甲"]
    client.force_login(cast["sysadmin"])
    assert client.get(reverse("record_list", kwargs={"kind": "children"}), {"print": "1"}).status_code == 404


@pytest.mark.parametrize("slug", ["children", "women", "elders"])
def test_record_detail_has_a_print_button_and_prints_without_actions(client, cast, tree, slug):
    record = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}[slug](village=tree[A])
    client.force_login(cast["cadre_a"])
    body = client.get(reverse("record_detail", kwargs={"kind": slug, "pk": record.pk})).content.decode()
    assert (
        '<button type="button" class="btn btn-outline-secondary" id="print-record" data-print>打印</button>'
        in body
    )
    assert '<div class="d-flex flex-wrap gap-2 d-print-none" id="record-actions">' in body
    assert '<nav aria-label="breadcrumb" class="d-print-none">' in body


def test_print_stylesheet_hides_the_site_around_the_page():
    css = (Path(__file__).resolve().parent.parent / "static" / "css" / "site.css").read_text()
    block = re.search(r"@media print \{(.*?)\n\}", css, re.S).group(1)
    assert ".navbar, .btn, form, .pagination, .breadcrumb { display: none !important; }" in block
