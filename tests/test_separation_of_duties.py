"""Separation of duties (三权分立, issue 6 §1): the system administrator manages accounts,
organisations and regions but reads no personal record and sets no role; the security
administrator sets roles and nothing else; the audit administrator only reads the log. Nobody
holds two duties: one role per account, and no role on a superuser."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import policy
from accounts.models import ADMIN_ROLES, Role, User
from accounts.services import ROLE_PERMISSIONS, role_permissions_apply, user_upsert
from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import PASSWORD, ChildFactory, UserFactory

A = "410922100201"
Action = AuditEvent.Action


def _admin(username, role, **extra):
    user = UserFactory(username=username, role=role, region=None, **extra)
    role_permissions_apply(user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admins(cast):
    return {
        "sysadmin": _admin("sys", Role.SYSADMIN),
        "secadmin": _admin("sec", Role.SECURITY_ADMIN),
        "auditor": _admin("aud", Role.AUDIT_ADMIN),
    }


def _change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def _editable(response):
    """The names of the fields the admin's change form lets the user edit (not the disabled ones)."""
    return {name for name, field in response.context["adminform"].form.fields.items() if not field.disabled}


def _post(client, user, data):
    return client.post(_change_url(user), {**data, "_save": "1"})


def _role_events():
    return list(AuditEvent.objects.filter(action=Action.ROLE_CHANGE).values_list("username", "detail"))


# --- no administrator reads personal records -----------------------------------------------


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_administrators_read_no_personal_records(client, tree, admins, role):
    user = next(u for u in admins.values() if u.role == role)
    child = ChildFactory(village=tree[A])
    assert (policy.record_prefixes(user), policy.edit_prefixes(user), policy.import_prefixes(user)) == (
        [],
        [],
        [],
    )
    assert policy.can_read_records(user, tree["4109"]) is False
    assert policy.scope_prefixes(user) == []
    client.force_login(user)
    assert (
        client.get(reverse("record_detail", kwargs={"kind": "children", "pk": child.pk})).status_code == 404
    )
    assert client.get(reverse("record_list", kwargs={"kind": "children"})).status_code == 404
    assert client.get(reverse("home")).status_code == 200


def test_each_role_gets_exactly_its_admin_permissions(tree):
    expected = {
        Role.SYSADMIN: {
            "accounts.add_user",
            "accounts.change_user",
            "accounts.view_user",
            "accounts.add_organisation",
            "accounts.change_organisation",
            "accounts.view_organisation",
            "registry.add_region",
            "registry.change_region",
            "registry.view_region",
            "care.change_risklevel",
            "care.view_risklevel",
            "care.change_casedeadline",
            "care.view_casedeadline",
        },
        Role.SECURITY_ADMIN: {
            "accounts.change_user",
            "accounts.view_user",
            "accounts.view_organisation",
            "registry.view_region",
            "axes.view_accessattempt",
            "axes.delete_accessattempt",
        },
        Role.AUDIT_ADMIN: {"audit.view_auditevent"},
    }
    assert set(ROLE_PERMISSIONS) == set(expected)
    for role, perms in expected.items():
        user = user_upsert(username=role.value, role=role, region=None, password=PASSWORD)
        user = User.objects.get(pk=user.pk)
        assert (user.is_staff, user.get_all_permissions()) == (True, perms)
    cadre = user_upsert(username="c", role=Role.VILLAGE_CADRE, region=tree[A], password=PASSWORD)
    assert User.objects.get(pk=cadre.pk).get_all_permissions() == set()


def test_navigation_of_each_administrator(client, admins):
    expected = {
        "sysadmin": [
            ("首页", "/"),
            ("区划与进度", reverse("region_root")),
            ("账号激活码", reverse("activation_list")),
            ("系统管理", "/admin/"),
        ],
        "secadmin": [("首页", "/"), ("账号激活码", reverse("activation_list")), ("系统管理", "/admin/")],
        "auditor": [("首页", "/"), ("审计日志", "/audit/"), ("系统管理", "/admin/")],
    }
    for key, items in expected.items():
        client.force_login(admins[key])
        assert client.get(reverse("home")).context["nav_items"] == items, key


# --- the system administrator ------------------------------------------------------------------


def test_sysadmin_manages_accounts_organisations_and_regions(client, admins):
    client.force_login(admins["sysadmin"])
    for name in (
        "admin:accounts_user_changelist",
        "admin:accounts_user_add",
        "admin:accounts_organisation_changelist",
        "admin:accounts_organisation_add",
        "admin:registry_region_changelist",
        "admin:registry_region_add",
    ):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403


def test_sysadmin_creates_an_account_without_a_role(client, admins):
    client.force_login(admins["sysadmin"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "Brand-new-2024x",
            "password2": "Brand-new-2024x",
            "last_name": "钱",
            "first_name": "新",
            "phone": "",
            "role": Role.CITY_OFFICE,
            "is_superuser": "on",
            "_save": "1",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert (user.role, user.is_superuser, user.is_staff, user.display_name) == ("", False, False, "钱新")
    event = AuditEvent.objects.get(action=Action.ACCOUNT)
    assert (event.username, event.object_id, event.detail) == (
        "sys",
        user.pk,
        "新建账号：角色：（无）；管辖区划：—；督导负责县（区）：—；所在单位：—；启用：是",
    )


def test_sysadmin_edits_an_account_but_not_its_role(client, cast, tree, admins):
    cadre = cast["cadre_a"]
    cadre.region = tree[A]
    cadre.save()
    client.force_login(admins["sysadmin"])
    page = client.get(_change_url(cadre))
    assert _editable(page) == {
        "username",
        "last_name",
        "first_name",
        "email",
        "phone",
        "is_active",
        "must_change_password",
    }
    response = _post(
        client,
        cadre,
        {
            "username": "cadre_a",
            "last_name": "张",
            "first_name": "改名",
            "email": "",
            "phone": "",
            "is_active": "on",
            "role": Role.CITY_OFFICE,
            "region": tree["4109"].pk,
            "is_superuser": "on",
            "user_permissions": [1],
        },
    )
    assert response.status_code == 302
    cadre.refresh_from_db()
    assert (cadre.display_name, cadre.role, cadre.region, cadre.is_superuser) == (
        "张改名",
        Role.VILLAGE_CADRE,
        tree[A],
        False,
    )
    assert cadre.user_permissions.count() == 0
    event = AuditEvent.objects.get(action=Action.ACCOUNT)
    assert (event.username, event.object_id, event.detail) == ("sys", cadre.pk, "修改：姓氏、名字")
    assert _role_events() == []


def test_sysadmin_deactivates_an_account_and_it_is_audited(client, cast, admins):
    client.force_login(admins["sysadmin"])
    data = {"username": "cadre_b", "last_name": "测", "first_name": "试", "email": "", "phone": ""}
    assert _post(client, cast["cadre_b"], data).status_code == 302
    cast["cadre_b"].refresh_from_db()
    assert cast["cadre_b"].is_active is False
    assert _role_events() == [("sys", "启用：是 → 否")]


def test_sysadmins_password_page_leads_to_an_activation_code_never_to_a_password(client, cast, admins):
    """Nobody sets another person's password (issue 12): the admin's 重置密码 button asks for an
    activation code; for the other administrators' accounts there is no such page at all."""
    client.force_login(admins["sysadmin"])
    cadre = cast["cadre_a"]
    url = reverse("admin:auth_user_password_change", args=[cadre.pk])
    for response in (client.get(url), client.post(url, {"password1": "Reset-pass-2024x", "password2": "x"})):
        assert (response.status_code, response["Location"]) == (
            302,
            reverse("activation_request", args=[cadre.pk]),
        )
    assert User.objects.get(pk=cadre.pk).password == cadre.password
    own = reverse("admin:auth_user_password_change", args=[admins["sysadmin"].pk])
    assert client.get(own)["Location"] == reverse("password_change")
    for other in ("secadmin", "auditor"):
        account = admins[other]
        url = reverse("admin:auth_user_password_change", args=[account.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {"password1": "x", "password2": "x"}).status_code == 404
        assert client.get(reverse("activation_request", args=[account.pk])).status_code == 404
        assert _post(client, account, {"username": account.username, "is_active": ""}).status_code == 403
        account.refresh_from_db()
        assert account.is_active is True


# --- the security administrator ----------------------------------------------------------------


def test_security_admin_sets_roles_only(client, cast, tree, admins):
    cadre = cast["cadre_a"]
    cadre.region = tree[A]
    cadre.save()
    client.force_login(admins["secadmin"])
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    page = client.get(_change_url(cadre))
    assert _editable(page) == {"is_active", "role", "region", "assigned_regions", "organisation"}
    name_before = cadre.display_name
    response = _post(
        client,
        cadre,
        {
            "username": "renamed",
            "last_name": "改",
            "is_active": "on",
            "role": Role.TOWNSHIP_REVIEWER,
            "region": tree["410922100"].pk,
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    cadre.refresh_from_db()
    assert (cadre.username, cadre.role, cadre.region, cadre.is_superuser, cadre.display_name) == (
        "cadre_a",
        Role.TOWNSHIP_REVIEWER,
        tree["410922100"],
        False,
        name_before,
    )
    assert _role_events() == [
        ("sec", "角色：村干部/儿童主任 → 乡镇审核员/儿童督导员；管辖区划：县1镇1村1 → 县1镇1"),
    ]
    url = reverse("admin:auth_user_password_change", args=[cadre.pk])
    assert client.get(url).status_code == 404


def test_security_admin_makes_an_account_an_administrator_with_its_permissions(client, cast, admins):
    client.force_login(admins["secadmin"])
    liaison = cast["liaison"]
    response = _post(client, liaison, {"is_active": "on", "role": Role.AUDIT_ADMIN, "region": ""})
    assert response.status_code == 302
    liaison = User.objects.get(pk=liaison.pk)
    assert (liaison.role, liaison.is_staff, liaison.get_all_permissions()) == (
        Role.AUDIT_ADMIN,
        True,
        {"audit.view_auditevent"},
    )


def test_security_admin_cannot_change_its_own_role(client, admins):
    me = admins["secadmin"]
    client.force_login(me)
    response = _post(client, me, {"is_active": "on", "role": Role.AUDIT_ADMIN})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"role": ["不能更改自己的角色。"]}
    me.refresh_from_db()
    assert me.role == Role.SECURITY_ADMIN


def test_security_admin_cannot_give_an_administrator_a_second_duty(client, admins):
    client.force_login(admins["secadmin"])
    response = _post(client, admins["sysadmin"], {"is_active": "on", "role": Role.AUDIT_ADMIN})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "role": ["该账号已担任系统管理员，不能改任审计管理员：一人不能兼任两种管理员职责，请另建账号。"]
    }
    assert User.objects.get(pk=admins["sysadmin"].pk).role == Role.SYSADMIN
    assert _role_events() == []


def test_security_admin_cannot_reach_the_audit_log_or_regions_editing(client, admins):
    client.force_login(admins["secadmin"])
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:registry_region_add")).status_code == 403
    assert client.get(reverse("audit_list")).status_code == 404


# --- the audit administrator -------------------------------------------------------------------


def test_audit_admin_only_reads_the_log(client, cast, admins):
    event = audit_record(action=Action.LOGIN, user=cast["cadre_a"])
    client.force_login(admins["auditor"])
    index = client.get(reverse("admin:index"))
    assert [app["app_label"] for app in index.context["app_list"]] == ["audit"]
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"detail": "改"}).status_code == 403
    assert (
        client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(_change_url(cast["cadre_a"])).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).detail == ""
    assert client.get(reverse("audit_list")).status_code == 200


# --- nobody holds two duties -------------------------------------------------------------------


def test_a_superuser_takes_no_role(db):
    root = User.objects.create_superuser("root", password=PASSWORD)
    with pytest.raises(ValidationError) as refused:
        user_upsert(username="root", role=Role.SYSADMIN, region=None, password=PASSWORD)
    assert refused.value.message_dict == {
        "role": ["超级管理员账号不能再担任角色（一人不能兼任两种管理职责）。"]
    }
    root.refresh_from_db()
    assert root.role == ""


def test_the_admin_refuses_superuser_with_a_role(client, cast):
    root = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(root)
    cadre = cast["cadre_a"]
    page = client.get(_change_url(cadre))
    data = {
        name: value
        for name, value in page.context["adminform"].form.initial.items()
        if name
        not in ("password", "groups", "user_permissions", "assigned_regions", "last_login", "date_joined")
        and value is not None
    }
    data.update(
        {
            "is_superuser": "on",
            "is_active": "on",
            "region": cadre.region_id,
            "date_joined_0": "2022-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    response = _post(client, cadre, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "超级管理员账号不能再担任角色（一人不能兼任两种管理职责）。"
    ]
    cadre.refresh_from_db()
    assert cadre.is_superuser is False


def test_role_change_refusals_in_the_policy(cast, admins):
    sec, sysadmin = admins["secadmin"], admins["sysadmin"]
    assert (
        policy.role_change_refusal(sysadmin, cast["cadre_a"], Role.CITY_OFFICE)
        == "只有安全管理员可以分配角色。"
    )
    assert policy.role_change_refusal(sec, cast["cadre_a"], Role.SECURITY_ADMIN) is None
    assert policy.role_change_refusal(sec, admins["auditor"], Role.VILLAGE_CADRE) is None
    assert policy.role_change_refusal(sec, sec, Role.VILLAGE_CADRE) == "不能更改自己的角色。"
    assert policy.can_manage_account(sysadmin, cast["cadre_a"]) is True
    assert policy.can_manage_account(sysadmin, sysadmin) is True
    assert policy.can_manage_account(sysadmin, sec) is False
    assert policy.can_manage_account(sec, cast["cadre_a"]) is False
    assert [policy.can_read_audit_log(u) for u in (sysadmin, sec, admins["auditor"])] == [False, False, True]
    assert [policy.can_assign_roles(u) for u in (sysadmin, sec, admins["auditor"])] == [False, True, False]
