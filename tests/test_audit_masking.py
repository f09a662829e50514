"""The audit administrator reads no personal data in the audit log, not even a name (issue 12 §3,
issue 14 §16): a search is stored as 「查询记录（N 条结果）」 with its filters in Chinese and the
typed term never; an ID or phone typed with spaces, dashes or full-width digits is masked in any
text; and events stored the old way (the query string, a person's name as the label) are read
through the same masks on the page and in the export."""

import io
import re
import unicodedata
from datetime import date
from urllib.parse import unquote_plus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from audit.masking import redact
from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import ChildFactory, UserFactory, make_id_number

A = "410922100201"
Action = AuditEvent.Action
NAME = "赵小红"
NUMBER = make_id_number("410922", date(2022, 2, 1))
PHONE = "13800138000"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
# The parts of the ID that are the person's (its first six digits are the county's code).
SECRETS = (NUMBER[6:], PHONE, NAME)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", role=Role.AUDIT_ADMIN, region=None, is_staff=True)


@pytest.fixture
def child(tree):
    return ChildFactory(village=tree[A], name=NAME, id_number=NUMBER)


def _leaks(text):
    """The secrets found in ``text`` however written: URL-encoded, full-width, spaced or dashed."""
    plain = unicodedata.normalize("NFKC", unquote_plus(text))
    squeezed = re.sub(r"[\s\-\u2010-\u2015\u3000]", "", plain)
    return [secret for secret in SECRETS if secret in squeezed]


def _children():
    return reverse("record_list", kwargs={"kind": "children"})


def _audit_page(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit_list"))
    assert response.status_code == 200
    return response


def _audit_export_rows(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit_export"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [["" if cell.value is None else str(cell.value) for cell in row] for row in sheet.iter_rows()]


PROBES = [
    # (what the user typed in the search box, results, the detail the auditor reads)
    (f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}", 1, "查询记录（1 条结果）；搜索：***（号码）"),
    (NUMBER.translate(FULL_WIDTH), 1, "查询记录（1 条结果）；搜索：***（号码）"),
    (f"{NUMBER[:6]}-{NUMBER[6:14]}-{NUMBER[14:]}", 0, "查询记录（0 条结果）；搜索：***（号码）"),
    ("138-0013-8000", 0, "查询记录（0 条结果）；搜索：***（号码）"),
    ("138 0013 8000", 0, "查询记录（0 条结果）；搜索：***（号码）"),
    ("１３８ ００１３ ８０００", 0, "查询记录（0 条结果）；搜索：***（号码）"),
    (NAME, 1, "查询记录（1 条结果）；搜索：***"),
]


@pytest.mark.parametrize("username", ["cadre_a", "county"])
@pytest.mark.parametrize(("typed", "results", "detail"), PROBES)
def test_search_reaches_the_audit_log_without_the_term(
    client, cast, child, auditor, username, typed, results, detail
):
    client.force_login(cast[username])
    response = client.get(_children(), {"q": typed})
    assert len(response.context["page"].object_list) == results
    event = AuditEvent.objects.get(action=Action.LIST)
    assert (event.username, event.object_label, event.detail, event.row_count) == (
        username,
        "留守儿童",
        detail,
        results,
    )
    page = _audit_page(client, auditor)
    assert [e.shown_detail for e in page.context["events"] if e.action == Action.LIST] == [detail]
    assert _leaks(page.content.decode()) == []
    rows = _audit_export_rows(client, auditor)
    assert [row[8] for row in rows if row[3] == "列表"] == [detail]
    assert _leaks(" ".join(" ".join(row) for row in rows)) == []


def test_search_by_a_url_encoded_name_reaches_the_audit_log_without_it(client, cast, child, auditor):
    client.force_login(cast["county"])
    response = client.get(_children() + "?q=%E8%B5%B5%E5%B0%8F%E7%BA%A2")
    assert [record.name for record in response.context["page"].object_list] == [NAME]
    assert AuditEvent.objects.get(action=Action.LIST).detail == "查询记录（1 条结果）；搜索：***"
    assert _leaks(_audit_page(client, auditor).content.decode()) == []
    assert _leaks(" ".join(" ".join(row) for row in _audit_export_rows(client, auditor))) == []


def test_search_filters_are_stored_by_their_chinese_labels(client, cast, tree):
    ChildFactory.create_batch(21, village=tree[A])
    client.force_login(cast["county"])
    query = {
        "q": NAME,
        "township": tree["410922100"].pk,
        "guardianship": "grandparent",
        "status": "all",
        "page": "2",
        "extra": NUMBER,
    }
    client.get(_children(), query)
    event = AuditEvent.objects.get(action=Action.LIST)
    assert (event.detail, event.row_count) == (
        "查询记录（0 条结果）；搜索：***；乡镇（街道）：县1镇1；监护类型：祖辈监护；状态：全部",
        0,
    )
    del query["q"]
    client.get(_children(), query)
    event = AuditEvent.objects.filter(action=Action.LIST).latest("id")
    assert (event.detail, event.row_count) == (
        "查询记录（21 条结果）；乡镇（街道）：县1镇1；监护类型：祖辈监护；状态：全部；第 2 页",
        1,
    )


def test_a_list_without_filters_is_stored_with_its_count(client, cast, child):
    client.force_login(cast["cadre_a"])
    client.get(_children())
    assert AuditEvent.objects.get(action=Action.LIST).detail == "查询记录（1 条结果）"


def test_export_is_stored_with_its_filters_and_without_the_term(client, cast, child):
    client.force_login(cast["county"])
    client.get(reverse("record_export", kwargs={"kind": "children"}), {"q": NAME, "risk": "high"})
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert (event.detail, event.row_count) == ("导出记录（0 条结果）；搜索：***；风险：仅高风险", 0)


def test_the_audit_logs_own_export_is_stored_without_its_search_term(client, auditor):
    client.force_login(auditor)
    client.get(reverse("audit_export"), {"q": NAME, "user": "cadre_a", "action": "list"})
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert event.detail == "导出审计日志（0 条结果）；用户名：***；操作：列表；搜索：***"


# --- redact -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"查 {NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]} 共1条", f"查 {'*' * 20} 共1条"),
        (f"查{NUMBER.translate(FULL_WIDTH)}", f"查{'*' * 18}"),
        (f"{NUMBER[:6]}-{NUMBER[6:14]}-{NUMBER[14:]}", "*" * 20),
        (f"{NUMBER[:6]}\u3000{NUMBER[6:]}", "*" * 19),
        ("电话 138-0013-8000。", f"电话 {'*' * 13}。"),
        ("电话 138 0013 8000", f"电话 {'*' * 13}"),
        ("电话１３８　００１３　８０００", f"电话{'*' * 13}"),
        ("q=138+0013+8000&page=2", f"q={'*' * 13}&page=2"),
        ("座机 0393 8881234", f"座机 {'*' * 12}"),
        # Dates, region codes beside a count and addresses stay readable.
        (
            "2022-09-01 138 0013 8000 第 3 页，410922100201 3 条 10.1.2.3",
            f"2022-09-01 {'*' * 13} 第 3 页，410922100201 3 条 10.1.2.3",
        ),
    ],
)
def test_redact_masks_numbers_however_typed(text, masked):
    assert redact(text) == masked


def test_a_label_or_detail_typed_with_spaces_is_masked_before_it_is_stored(db):
    spaced = f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}"
    event = audit_record(
        action=Action.IMPORT, object_label=f"文件 {spaced}", detail=f"电话 138-0013-8000，身份证 {spaced}"
    )
    assert (event.object_label, event.detail) == (f"文件 {'*' * 20}", f"电话 {'*' * 13}，身份证 {'*' * 20}")


# --- events stored before: read through the same masks ---------------------------------------------


def _legacy(**fields):
    return AuditEvent.objects.create(username="cadre_a", role=Role.VILLAGE_CADRE, **fields)


def test_old_events_are_read_without_names_or_numbers_in_no_more_queries(client, auditor, tree):
    _audit_page(client, auditor)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audit_list"))
    spaced = f"{NUMBER[:6]}+{NUMBER[6:14]}+{NUMBER[14:]}"
    full_width = "".join(f"%{b:02X}" for b in NUMBER.translate(FULL_WIDTH).encode())
    _legacy(
        action=Action.LIST,
        object_type="registry.child",
        object_label=NAME,
        detail="q=%E8%B5%B5%E5%B0%8F%E7%BA%A2&status=exited&guardianship=grandparent&page=2",
    )
    _legacy(
        action=Action.LIST, object_type="registry.child", detail=f"q={spaced}&township={tree['410922100'].pk}"
    )
    _legacy(action=Action.EXPORT, object_type="registry.woman", detail=f"q={full_width}&nonsense=%E8%B5%B5")
    _legacy(action=Action.LIST, object_type="registry.elder", detail="admin p=2")
    _legacy(action=Action.VIEW, object_type="registry.child", object_id=7, object_label=f"{NAME} {NUMBER}")
    _legacy(action=Action.IMPORT, object_type="registry.importjob", detail=f"花名册 138 0013 8000 {NAME}")
    expected = [
        ("导入", "", f"花名册 {'*' * 13} {NAME}"),
        ("查看", "留守儿童", ""),
        ("列表", "留守老人", "后台列表；第 2 页"),
        ("导出", "留守妇女", "导出记录；搜索：***（号码）"),
        ("列表", "留守儿童", f"查询记录；搜索：***（号码）；乡镇（街道）：编号 {tree['410922100'].pk}"),
        ("列表", "留守儿童", "查询记录；搜索：***；监护类型：祖辈监护；状态：已退出；第 2 页"),
    ]
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("audit_list"))
    assert len(many) == len(few)
    events = [e for e in page.context["events"] if e.action != Action.LOGIN]
    shown = [(e.get_action_display(), e.shown_label, e.shown_detail) for e in events]
    assert shown == expected
    body = page.content.decode()
    assert (NUMBER[6:] in body, PHONE in body, "%E8%B5%B5" in body) == (False, False, False)
    rows = _audit_export_rows(client, auditor)
    assert [(row[3], row[6], row[8]) for row in rows[1:] if row[3] != "登录"] == expected
    # A name in an old import's free text cannot be told from other words; IDs and phones can.
    assert _leaks(" ".join(" ".join(row) for row in rows)) == [NAME]


def test_the_admin_reads_old_events_through_the_same_masks(client, auditor):
    event = _legacy(
        action=Action.LIST,
        object_type="registry.child",
        object_label=NAME,
        detail=f"q=%E8%B5%B5%E5%B0%8F%E7%BA%A2+{NUMBER[:6]}+{NUMBER[6:]}&status=exited",
    )
    client.force_login(auditor)
    changelist = client.get(reverse("admin:audit_auditevent_changelist"))
    change = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert (changelist.status_code, change.status_code) == (200, 200)
    assert (_leaks(changelist.content.decode()), _leaks(change.content.decode())) == ([], [])
    shown = {
        field.field["name"]: field.contents()
        for fieldset in change.context["adminform"]
        for line in fieldset
        for field in line
    }
    assert (shown["shown_label"], shown["shown_detail"]) == ("留守儿童", "查询记录；搜索：***；状态：已退出")
