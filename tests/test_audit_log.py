"""The audit log (issue 6 §3): one event per login, failed login, logout, look at or export of
personal data, change of a record, workflow transition, change of role and password; append-only
in the ORM and in the database (both engines); kept at least 180 days; read, filtered, searched
and exported by the audit administrator alone."""

import io
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from accounts.services import user_upsert
from audit.models import APPEND_ONLY_MESSAGE, AppendOnly, AuditEvent
from audit.services import audit_purge, audit_record, redact
from registry import records
from registry.choices import ExitReason
from survey import services, supervision
from survey.models import Verdict
from tests.factories import PASSWORD, ChildFactory, UserFactory, make_child, make_id_number

A, B = "410922100201", "410922100202"
Action, Result = AuditEvent.Action, AuditEvent.Result


@pytest.fixture
def auditor(db):
    return UserFactory(
        username="auditor", role=Role.AUDIT_ADMIN, region=None, is_staff=True, last_name="审", first_name="计"
    )


def _events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def _event(**filters):
    (event,) = _events(**filters)
    return event


def _old_event(days):
    return AuditEvent.objects.create(
        at=timezone.now() - timedelta(days=days), username="old", action=Action.LOGIN, detail=f"{days} 天前"
    )


def _no_personal_numbers():
    """No event's text holds an ID or mobile number (they are masked before they are stored)."""
    texts = AuditEvent.objects.values_list("username", "object_label", "detail")
    return [t for row in texts for t in row if re.search(r"\d{17}[\dXx]|1[3-9]\d{9}", t)] == []


# --- logins ------------------------------------------------------------------------------------


def test_login_writes_an_event_with_the_address(client, cast):
    response = client.post(
        reverse("login"), {"username": "cadre_a", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    event = _event(action=Action.LOGIN)
    assert (event.user, event.username, event.role, event.result, event.ip_address, event.object_id) == (
        cast["cadre_a"],
        "cadre_a",
        Role.VILLAGE_CADRE,
        Result.SUCCESS,
        "10.1.2.3",
        cast["cadre_a"].pk,
    )


def test_failed_login_of_a_known_user_names_the_user(client, cast):
    client.post(reverse("login"), {"username": "cadre_a", "password": "wrong"}, REMOTE_ADDR="10.1.2.4")
    event = _event(action=Action.LOGIN_FAILED)
    assert (event.user, event.username, event.result, event.detail, event.ip_address) == (
        cast["cadre_a"],
        "cadre_a",
        Result.FAILURE,
        "用户名或密码错误",
        "10.1.2.4",
    )


def test_failed_login_of_an_unknown_user_keeps_the_typed_name(client, cast):
    client.post(reverse("login"), {"username": "nobody", "password": "wrong"}, REMOTE_ADDR="10.1.2.5")
    event = _event(action=Action.LOGIN_FAILED)
    assert (event.user, event.username, event.role, event.result, event.ip_address) == (
        None,
        "nobody",
        "",
        Result.FAILURE,
        "10.1.2.5",
    )


def test_failed_login_typed_as_a_phone_number_is_masked(client, cast):
    client.post(reverse("login"), {"username": "13912345678", "password": "wrong"})
    assert _event(action=Action.LOGIN_FAILED).username == "*" * 11


def test_lockout_is_a_refused_login_one_event_per_attempt(client, cast):
    for _ in range(6):
        client.post(reverse("login"), {"username": "cadre_b", "password": "wrong"})
    results = [(e.username, e.result) for e in _events(action=Action.LOGIN_FAILED)]
    assert results == [("cadre_b", Result.FAILURE)] * 4 + [("cadre_b", Result.DENIED)] * 2
    assert _events(action=Action.LOGIN_FAILED)[-1].detail == "连续登录失败，账号已锁定，拒绝登录"


def test_logout_writes_an_event(client, cast):
    client.force_login(cast["cadre_a"])
    client.post(reverse("logout"), REMOTE_ADDR="10.1.2.6")
    event = _event(action=Action.LOGOUT)
    assert (event.user, event.ip_address) == (cast["cadre_a"], "10.1.2.6")


def test_own_password_change_writes_an_event(client, cast):
    client.force_login(cast["cadre_a"])
    new = "Another-pass-2023"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        REMOTE_ADDR="10.1.2.7",
    )
    assert response.status_code == 302
    event = _event(action=Action.PASSWORD_CHANGE)
    assert (event.user, event.object_id, event.ip_address, event.detail) == (
        cast["cadre_a"],
        cast["cadre_a"].pk,
        "10.1.2.7",
        "密码已修改",
    )


def test_saving_a_user_without_a_new_password_is_no_password_event(cast):
    user = cast["cadre_a"]
    user.phone = "03931234567"
    user.save()
    assert _events(action=Action.PASSWORD_CHANGE) == []


# --- records -----------------------------------------------------------------------------------


def test_record_changes_write_one_event_each(cast, tree):
    cadre = cast["cadre_a"]
    number = make_id_number("410922", date(2015, 3, 5))
    child = ChildFactory(village=tree[A], name="王小明", id_number=number, created_by=cadre)
    child = records.record_update(
        record=child, user=cadre, data={"name": "王晓明", "guardian_phone": "13800138000"}, version=1
    )
    child = records.record_exit(
        record=child,
        user=cadre,
        reason=ExitReason.PARENTS_RETURNED,
        date=date(2022, 9, 1),
        note="",
        version=2,
    )
    records.record_restore(record=child, user=cadre, note="父亲再次外出", version=3)
    rows = [
        (e.user, e.action, e.object_id, e.object_label, e.detail)
        for e in _events(object_type="registry.child")
    ]
    assert rows == [
        (cadre, Action.CREATE, child.pk, "留守儿童", "来源：网页填报"),
        (cadre, Action.UPDATE, child.pk, "留守儿童", "修改：姓名、监护人电话（来源：网页填报）"),
        (cadre, Action.STATUS, child.pk, "留守儿童", "退出台账：父母返乡"),
        (cadre, Action.STATUS, child.pk, "留守儿童", "恢复在册"),
    ]
    assert _no_personal_numbers()
    assert AuditEvent.objects.filter(Q(object_label__contains="明") | Q(detail__contains="明")).count() == 0


def test_unchanged_save_and_refused_change_write_no_event(cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_update(record=child, user=cast["cadre_a"], data={"name": child.name}, version=1)
    with pytest.raises(records.StaleRecord):
        records.record_update(record=child, user=cast["cadre_a"], data={"name": "新"}, version=7)
    assert [e.action for e in _events(object_type="registry.child")] == [Action.CREATE]


def test_search_by_id_number_is_logged_without_it(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["county"])
    client.get(reverse("record_list", kwargs={"kind": "children"}), {"q": child.id_number})
    event = _event(action=Action.LIST)
    assert event.detail == "查询记录（1 条结果）；搜索：***（号码）"
    assert _no_personal_numbers()


def test_redact_masks_ids_and_phones_but_not_region_codes():
    number = make_id_number("410922", date(2015, 3, 5))
    text = f"{number} 13800138000 0393-8881234 410922100201 第3页"
    assert redact(text) == f"{'*' * 18} {'*' * 11} {'*' * 12} 410922100201 第3页"


# --- workflow ----------------------------------------------------------------------------------


def test_campaign_and_return_transitions_write_one_event_each(cast, tree, campaign):
    make_child(tree[A])
    ret_a = services.village_return_for(campaign, tree[A])
    ret_b = services.village_return_for(campaign, tree[B])
    services.village_return_start(user=cast["cadre_a"], village_return=ret_a)
    services.village_return_submit(user=cast["cadre_a"], village_return=ret_a)
    services.village_return_send_back(user=cast["township"], village_return=ret_a, reason="缺少监护人电话")
    services.village_return_submit(user=cast["cadre_a"], village_return=ret_a)
    services.village_return_approve(user=cast["township"], village_return=ret_a)
    services.village_return_submit(user=cast["cadre_b"], village_return=ret_b, zero=True)
    services.village_return_approve(user=cast["township"], village_return=ret_b)
    services.township_approve(user=cast["county"], campaign=campaign, township=tree["410922100"])
    services.campaign_close(user=cast["city"], campaign=campaign)
    rows = [(e.username, e.object_type, e.detail) for e in _events(action=Action.WORKFLOW)]
    ret, camp = "survey.villagereturn", "survey.campaign"
    assert rows == [
        ("city", camp, "新建摸底排查（草稿）"),
        ("city", camp, "启动摸底排查：草稿 → 进行中"),
        ("cadre_a", ret, "开始填报：未开始 → 填报中"),
        ("cadre_a", ret, "提交：填报中 → 已提交"),
        ("township", ret, "退回：已提交 → 填报中（原因：缺少监护人电话）"),
        ("cadre_a", ret, "提交：填报中 → 已提交"),
        ("township", ret, "乡镇审核通过：已提交 → 乡镇已审核"),
        ("cadre_b", ret, "提交零报告：未开始 → 已提交"),
        ("township", ret, "乡镇审核通过：已提交 → 乡镇已审核"),
        ("county", ret, "县级审核通过：乡镇已审核 → 县级已审核"),
        ("county", ret, "县级审核通过：乡镇已审核 → 县级已审核"),
        ("city", camp, "结束摸底排查：进行中 → 已结束"),
    ]


def test_refused_transition_writes_no_event(cast, tree, campaign):
    ret = services.village_return_for(campaign, tree[A])
    before = AuditEvent.objects.count()
    with pytest.raises(services.TransitionRefused):
        services.village_return_approve(user=cast["township"], village_return=ret)
    assert AuditEvent.objects.count() == before


def test_supervision_actions_write_one_event_each(cast, tree):
    user, county = cast["supervisor"], tree["410923"]
    make_child(tree["410923100201"])
    inspection = supervision.inspection_create(
        user=user, county=county, date=date(2022, 9, 10), team="督导组"
    )
    supervision.inspection_draw_sample(user=user, inspection=inspection, size=1, seed="7")
    check = inspection.checks.get()
    supervision.spot_check_record(user=user, check=check, verdict=Verdict.TRUE)
    item = supervision.rectification_create(
        user=user,
        inspection=inspection,
        description="台账不全",
        responsible_unit="县民政局",
        deadline=date(2030, 1, 1),
    )
    county_officer = UserFactory(role=Role.COUNTY_OFFICER, region=county, username="county2")
    supervision.rectification_mark_done(user=county_officer, item=item, evidence="已补齐")
    supervision.rectification_reopen(user=user, item=item)
    supervision.rectification_mark_done(user=county_officer, item=item, evidence="已补齐并复核")
    supervision.rectification_close(user=user, item=item)
    rows = [(e.username, e.object_type, e.detail, e.row_count) for e in _events(action=Action.WORKFLOW)]
    assert rows == [
        ("supervisor", "survey.inspection", "新建督导检查", None),
        ("supervisor", "survey.inspection", "抽样：种子 7", 1),
        ("supervisor", "survey.spotcheck", "核查结果：属实", None),
        ("supervisor", "survey.rectification", "提出整改事项（县民政局）", None),
        ("county2", "survey.rectification", "整改：待整改 → 已整改", None),
        ("supervisor", "survey.rectification", "整改：已整改 → 待整改（退回）", None),
        ("county2", "survey.rectification", "整改：待整改 → 已整改", None),
        ("supervisor", "survey.rectification", "整改：已整改 → 已销号", None),
    ]
    assert _event(object_type="survey.spotcheck").object_label == f"抽查 留守儿童 #{check.record_id}"


# --- roles -------------------------------------------------------------------------------------


def test_user_upsert_writes_role_changes_and_nothing_when_unchanged(tree):
    user_upsert(username="newcadre", role=Role.VILLAGE_CADRE, region=tree[A], password=PASSWORD, name="张三")
    user_upsert(username="newcadre", role=Role.VILLAGE_CADRE, region=tree[A], password=PASSWORD, name="张三")
    user_upsert(username="newcadre", role=Role.TOWNSHIP_REVIEWER, region=tree["410922100"], password=PASSWORD)
    rows = [(e.object_label, e.detail) for e in _events(action=Action.ROLE_CHANGE)]
    assert rows == [
        (
            "张三（newcadre）",
            "新建账号：角色：村干部/儿童主任；管辖区划：县1镇1村1；督导负责县（区）：—；所在单位：—；启用：是",
        ),
        ("newcadre", "角色：村干部/儿童主任 → 乡镇审核员/儿童督导员；管辖区划：县1镇1村1 → 县1镇1"),
    ]


# --- append-only -------------------------------------------------------------------------------


def test_events_cannot_be_changed_or_deleted_through_the_orm(db):
    event = audit_record(action=Action.LOGIN, username="x")
    event.detail = "改"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(detail="改")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.bulk_update([event], ["detail"])
    assert AuditEvent.objects.get(pk=event.pk).detail == ""


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET detail = 'tampered'",
        "UPDATE audit_auditevent SET at = '2000-01-01 00:00:00'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_raw_sql_cannot_change_or_delete_events(db, sql):
    """On whichever engine the suite runs (SQLite by default; PostgreSQL in CI)."""
    audit_record(action=Action.LOGIN, username="x")
    with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert list(AuditEvent.objects.values_list("username", "detail")) == [("x", "")]


def test_raw_sql_cannot_update_or_delete_even_old_events_without_the_purge(db):
    old = _old_event(400)
    with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = 'x' WHERE id = %s", [old.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [old.pk])
    assert AuditEvent.objects.filter(pk=old.pk).exists()


def test_a_user_with_events_cannot_be_deleted(cast):
    audit_record(action=Action.LOGIN, user=cast["cadre_a"])
    with pytest.raises(Exception, match="protected"):
        cast["cadre_a"].delete()


def test_append_only_message_is_chinese():
    assert APPEND_ONLY_MESSAGE == "审计日志只能追加，不能修改或删除。"


# --- retention ---------------------------------------------------------------------------------


def test_purge_deletes_only_events_older_than_the_date(db):
    _old_event(400)
    _old_event(200)
    young = _old_event(10)
    before = timezone.localdate() - timedelta(days=300)
    out = io.StringIO()
    call_command("purge_audit", "--before", before.isoformat(), stdout=out)
    assert out.getvalue() == f"已删除 {before:%Y-%m-%d} 之前的审计日志 1 条。\n"
    assert sorted(AuditEvent.objects.exclude(action=Action.PURGE).values_list("detail", flat=True)) == [
        "10 天前",
        "200 天前",
    ]
    purge = _event(action=Action.PURGE)
    assert (purge.row_count, purge.detail) == (1, f"清理 {before:%Y-%m-%d} 之前的审计日志")
    assert AuditEvent.objects.filter(pk=young.pk).exists()


def test_purge_refuses_a_date_inside_the_retention(db):
    _old_event(400)
    before = timezone.localdate() - timedelta(days=179)
    latest = timezone.localdate() - timedelta(days=180)
    with pytest.raises(CommandError) as refused:
        call_command("purge_audit", "--before", before.isoformat())
    assert str(refused.value) == (
        f"拒绝清理：审计日志须保存 180 天，清理日期最晚为 {latest:%Y-%m-%d}，"
        f"{before:%Y-%m-%d} 之前的日志尚在保存期内。"
    )
    assert AuditEvent.objects.count() == 1


def test_purge_follows_a_longer_retention_setting(db, settings):
    settings.AUDIT_RETENTION_DAYS = 365
    _old_event(400)
    with pytest.raises(CommandError, match="须保存 365 天"):
        call_command("purge_audit", "--before", (timezone.localdate() - timedelta(days=300)).isoformat())
    assert AuditEvent.objects.count() == 1


def test_purge_refuses_a_retention_setting_below_180_days(db, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    _old_event(400)
    with pytest.raises(ImproperlyConfigured, match="至少保存 180 天"):
        audit_purge(before=timezone.localdate() - timedelta(days=300))
    assert AuditEvent.objects.count() == 1


def test_purge_refuses_an_unreadable_date(db):
    with pytest.raises(CommandError, match="无法识别"):
        call_command("purge_audit", "--before", "2022/01/01")


def test_the_database_refuses_deleting_young_events_even_with_the_purge_flag(db):
    young = _old_event(100)
    with pytest.raises(DatabaseError, match="审计日志只能追加"), transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('audit.allow_purge', 'on', true)")
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [young.pk])
    assert AuditEvent.objects.filter(pk=young.pk).exists()


def test_settings_refuse_a_short_retention(monkeypatch):
    import importlib

    import config.settings

    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    with pytest.raises(ImproperlyConfigured, match="AUDIT_RETENTION_DAYS=30 太短"):
        importlib.reload(config.settings)
    monkeypatch.delenv("AUDIT_RETENTION_DAYS")
    importlib.reload(config.settings)


# --- the viewer --------------------------------------------------------------------------------


def _list(client, **query):
    response = client.get(reverse("audit_list"), query)
    assert response.status_code == 200
    return response


def _shown(response):
    return [(e.username, e.action) for e in response.context["events"]]


def test_only_the_audit_admin_opens_the_log(client, cast, auditor):
    for user in cast.values():
        client.force_login(user)
        assert client.get(reverse("audit_list")).status_code == 404
        assert client.get(reverse("audit_export")).status_code == 404
    client.force_login(auditor)
    assert client.get(reverse("audit_list")).status_code == 200


def test_viewer_filters_and_searches(client, cast, auditor):
    old = timezone.now() - timedelta(days=3)
    AuditEvent.objects.create(at=old, user=cast["cadre_a"], username="cadre_a", action=Action.VIEW)
    audit_record(
        action=Action.LOGIN_FAILED, username="ghost", result=Result.FAILURE, detail="用户名或密码错误"
    )
    audit_record(
        action=Action.WORKFLOW, user=cast["township"], object_type="survey.villagereturn", detail="退回"
    )
    audit_record(
        action=Action.CREATE, user=cast["cadre_a"], object_type="registry.child", object_label="王小明"
    )
    client.force_login(auditor)
    today = timezone.localdate()
    assert _shown(_list(client, user="cadre_a")) == [("cadre_a", Action.CREATE), ("cadre_a", Action.VIEW)]
    assert _shown(_list(client, action=Action.LOGIN_FAILED)) == [("ghost", Action.LOGIN_FAILED)]
    assert _shown(_list(client, result=Result.FAILURE)) == [("ghost", Action.LOGIN_FAILED)]
    assert _shown(_list(client, object_type="survey.villagereturn")) == [("township", Action.WORKFLOW)]
    assert _shown(_list(client, q="小明")) == [("cadre_a", Action.CREATE)]
    assert _shown(_list(client, q="退回")) == [("township", Action.WORKFLOW)]
    assert _shown(_list(client, q="gho")) == [("ghost", Action.LOGIN_FAILED)]
    end = (today - timedelta(days=2)).isoformat()
    assert _shown(_list(client, end=end)) == [("cadre_a", Action.VIEW)]
    in_range = _list(
        client, start=(today - timedelta(days=1)).isoformat(), end=today.isoformat(), user="cadre_a"
    )
    assert _shown(in_range) == [("cadre_a", Action.CREATE)]
    wrong = _list(client, start=today.isoformat(), end=end)
    assert wrong.context["filters"].errors == {"__all__": ["起始日期不能晚于截止日期。"]}


def test_viewer_pages_by_fifty(client, auditor):
    AuditEvent.objects.bulk_create(
        [AuditEvent(username=f"u{i:02d}", action=Action.LOGIN_FAILED) for i in range(51)]
    )
    client.force_login(auditor)
    first = _list(client, action=Action.LOGIN_FAILED)
    assert (len(first.context["events"]), first.context["has_next"]) == (50, True)
    assert first.context["events"][0].username == "u50"
    second = _list(client, action=Action.LOGIN_FAILED, page=2)
    assert (len(second.context["events"]), second.context["has_next"]) == (1, False)


def test_viewer_queries_do_not_grow_with_the_events(client, cast, auditor):
    client.force_login(auditor)
    audit_record(action=Action.LOGIN, user=cast["cadre_a"])
    client.get(reverse("audit_list"))
    with CaptureQueriesContext(connection) as few:
        _list(client)
    for i in range(40):
        audit_record(action=Action.VIEW, user=cast["county"], object_type="registry.child", object_id=i)
    with CaptureQueriesContext(connection) as many:
        _list(client)
    assert len(many) == len(few)


def test_export_is_xlsx_escaped_and_itself_logged(client, cast, auditor):
    audit_record(
        action=Action.CREATE,
        user=cast["cadre_a"],
        object_type="survey.campaign",
        object_label="=HYPERLINK(1)",
    )
    audit_record(action=Action.LOGIN_FAILED, username="@evil", result=Result.FAILURE, detail="-1+1")
    audit_record(action=Action.LOGOUT, user=cast["county"])
    client.force_login(auditor)
    response = client.get(reverse("audit_export"), {"q": "1"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "时间",
        "用户名",
        "角色",
        "操作",
        "对象类型",
        "对象编号",
        "对象",
        "结果",
        "说明",
        "条数",
        "来源地址",
    ]
    assert [(r[1], r[3], r[6], r[7], r[8]) for r in rows[1:]] == [
        ("'@evil", "登录失败", None, "失败", "'-1+1"),
        ("cadre_a", "新增", "'=HYPERLINK(1)", "成功", None),
    ]
    assert rows[2][2] == "村干部/儿童主任"
    assert rows[2][4] == "摸底排查"
    export = _event(action=Action.EXPORT)
    assert (export.user, export.object_type, export.row_count, export.detail, export.ip_address) == (
        auditor,
        "audit.auditevent",
        2,
        "导出审计日志（2 条结果）；搜索：***",
        "10.9.9.9",
    )


def test_viewer_is_get_only(client, auditor):
    client.force_login(auditor)
    assert client.post(reverse("audit_list")).status_code == 405
    assert client.post(reverse("audit_export")).status_code == 405


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("audit_list"))
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next=/audit/")


def test_viewer_shows_events_in_chinese(client, cast, auditor):
    audit_record(
        action=Action.ROLE_CHANGE, user=cast["county"], object_label="张三（newcadre）", detail="角色：a → b"
    )
    client.force_login(auditor)
    body = _list(client).content.decode()
    assert "角色变更 · 张三（newcadre）" in body
    assert "county（县级民政）" in body
    assert ("审计日志", reverse("audit_list")) in _list(client).context["nav_items"]


def test_events_keep_no_request_of_a_command(db):
    event = audit_record(action=Action.IMPORT, username="", detail="导入 3 行", count=3)
    assert (event.user, event.ip_address, event.row_count) == (None, None, 3)
    assert AuditEvent.objects.filter(Q(action=Action.IMPORT) & Q(row_count=3)).count() == 1
