"""Login lock-out (issue 12 item 5): five wrong passwords lock a name at one address only, twenty
from all addresses lock it everywhere, and the security administrator — nobody else — releases a
lock-out in the admin, each release in the audit log (accounts/lockouts.py, config/admin.py).

Every login here goes through the login page with the address it comes from (REMOTE_ADDR).
"""

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from accounts.services import ROLE_PERMISSIONS, role_permissions_apply
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

OFFICE = "10.8.3.4"  # the township office's one NAT address
ELSEWHERE = "10.20.0.9"
CHANGELIST = reverse("admin:axes_accessattempt_changelist")


def _login(username, address, password=PASSWORD):
    return Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(username, address, times):
    client = Client()
    for _ in range(times):
        client.post(reverse("login"), {"username": username, "password": "wrong-1"}, REMOTE_ADDR=address)


def _administrator(username, role):
    user = UserFactory(username=username, role=role, region=None)
    role_permissions_apply(user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def secadmin(cast):
    return _administrator("sec", Role.SECURITY_ADMIN)


def test_five_failures_lock_the_name_at_that_address_only(cast):
    _fail("city", OFFICE, 5)
    assert (_login("city", OFFICE).status_code, _login("city", ELSEWHERE).status_code) == (429, 302)


def test_four_failures_lock_nothing(cast):
    _fail("city", OFFICE, 4)
    assert _login("city", OFFICE).status_code == 302


def test_a_colleague_behind_the_same_address_is_not_locked(cast):
    _fail("cadre_a", OFFICE, 5)
    assert (_login("cadre_a", OFFICE).status_code, _login("cadre_b", OFFICE).status_code) == (429, 302)


@pytest.mark.parametrize(("spread", "status"), [((5, 5, 5, 4), 302), ((5, 5, 5, 5), 429), ((4,) * 5, 429)])
def test_twenty_failures_from_many_addresses_lock_the_name_everywhere(cast, spread, status):
    for n, times in enumerate(spread):
        _fail("city", f"198.51.100.{n + 1}", times)
    assert _login("city", OFFICE).status_code == status


def test_the_cross_address_limit_comes_from_the_setting(cast, settings):
    settings.AXES_USERNAME_FAILURE_LIMIT = 8
    _fail("city", "198.51.100.1", 4)
    _fail("city", "198.51.100.2", 4)
    assert _login("city", OFFICE).status_code == 429


def test_a_success_clears_that_address_only(cast):
    _fail("city", OFFICE, 4)
    _fail("city", ELSEWHERE, 4)
    assert _login("city", OFFICE).status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", "failures_since_start")) == [(ELSEWHERE, 4)]


def test_the_locked_out_page_says_whom_to_ask(cast):
    _fail("city", OFFICE, 5)
    response = _login("city", OFFICE)
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", response.content.decode())
    assert response.status_code == 429
    assert paragraphs == [
        "密码输错次数过多，为保护信息安全，该账号已被暂时锁定。",
        "请 30 分钟后再试。如需立即解锁，请联系本平台的<strong>安全管理员</strong>"
        "核实身份后解除锁定（解锁会记入审计日志）。",
        "如果不是您本人输错了密码，请一并告知安全管理员。",
    ]


def test_the_locked_out_page_follows_the_cool_off(cast, settings):
    settings.AXES_COOLOFF_TIME = settings.AXES_COOLOFF_TIME * 2
    _fail("city", OFFICE, 5)
    paragraphs = re.findall(r"<p>(.*?)</p>", _login("city", OFFICE).content.decode())
    assert paragraphs[1].split("。")[0] == "请 60 分钟后再试"


# --- release by the security administrator -----------------------------------------------------


def test_unlocking_is_the_security_administrators_permission():
    assert ("axes", "accessattempt", ("view", "delete")) in ROLE_PERMISSIONS[Role.SECURITY_ADMIN]
    assert [p for p in ROLE_PERMISSIONS[Role.SYSADMIN] if p[0] == "axes"] == []


def test_security_admin_sees_the_lockouts_in_chinese(client, cast, secadmin):
    _fail("city", OFFICE, 5)
    _fail("city", ELSEWHERE, 2)
    client.force_login(secadmin)
    response = client.get(CHANGELIST)
    body = response.content.decode()
    headers = re.findall(
        r'<th scope="col" class="[^"]*column-(\w+)[^"]*">.*?<div class="text">(?:<a [^>]*>|<span>)([^<]+)<',
        body,
        re.DOTALL,
    )
    rows = re.findall(r'<td class="field-state">([^<]*)</td>', body)
    assert response.status_code == 200
    assert str(AccessAttempt._meta.verbose_name_plural) == "登录失败记录"
    assert headers == [
        ("username", "用户名"),
        ("ip_address", "来源地址"),
        ("failures_since_start", "连续失败次数"),
        ("name_failures", "该账号各地址合计"),
        ("attempt_time", "最近失败时间"),
        ("state", "状态"),
    ]
    assert rows == ["未锁定（此地址还可试 3 次）", "已锁定（此地址）"]


def test_security_admin_releases_a_lockout_and_it_is_audited(client, cast, secadmin):
    _fail("city", OFFICE, 5)
    _fail("city", ELSEWHERE, 1)
    attempt = AccessAttempt.objects.get(ip_address=OFFICE)
    client.force_login(secadmin)
    response = client.post(
        CHANGELIST, {"action": "release_selected", "_selected_action": [attempt.pk]}, REMOTE_ADDR=ELSEWHERE
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ELSEWHERE]
    assert _login("city", OFFICE).status_code == 302
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT).get()
    assert (event.username, event.role, event.object_type, event.object_id, event.object_label) == (
        "sec",
        Role.SECURITY_ADMIN,
        "accounts.user",
        cast["city"].pk,
        str(cast["city"]),
    )
    assert (event.detail, event.ip_address) == (f"解除登录锁定：来源地址 {OFFICE}，失败 5 次", ELSEWHERE)


def test_releasing_a_name_everywhere_lifts_the_cross_address_lock(client, cast, secadmin):
    for n in range(4):
        _fail("city", f"198.51.100.{n + 1}", 5)
    _fail("nobody", OFFICE, 1)
    assert _login("city", OFFICE).status_code == 429  # itself a fifth record, of one failure
    one = AccessAttempt.objects.filter(username="city").first()
    client.force_login(secadmin)
    client.post(CHANGELIST, {"action": "release_names", "_selected_action": [one.pk]})
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["nobody"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT, object_id=cast["city"].pk).count() == 5
    assert _login("city", OFFICE).status_code == 302


def test_releasing_an_unknown_name_is_audited_by_the_record(client, cast, secadmin):
    _fail("410922201502035403", OFFICE, 5)
    attempt = AccessAttempt.objects.get()
    client.force_login(secadmin)
    client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT).get()
    assert AccessAttempt.objects.count() == 0
    assert (event.object_type, event.object_id, event.object_label) == (
        "axes.accessattempt",
        attempt.pk,
        "******************",
    )


@pytest.mark.parametrize("role", [Role.SYSADMIN, Role.AUDIT_ADMIN])
def test_other_administrators_can_neither_see_nor_release_lockouts(client, cast, role):
    _fail("city", OFFICE, 5)
    attempt = AccessAttempt.objects.get()
    client.force_login(_administrator("other", role))
    index = client.get(reverse("admin:index"))
    listing = client.get(CHANGELIST)
    release = client.post(CHANGELIST, {"action": "release_selected", "_selected_action": [attempt.pk]})
    delete = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert (listing.status_code, release.status_code, delete.status_code) == (403, 403, 403)
    assert "axes" not in [app["app_label"] for app in index.context["app_list"]]
    assert AccessAttempt.objects.count() == 1
    assert _login("city", OFFICE).status_code == 429
