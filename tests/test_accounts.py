"""Login, lockout, password rules, idle sessions and each role's home page."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.otp import otp_required
from tests.factories import PASSWORD, enrol_second_factor

ROLES = ["cadre_a", "township", "county", "city", "supervisor", "liaison", "sysadmin"]


def _login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_is_chinese_and_phone_ready(client, db):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in body
    assert 'name="viewport"' in body
    assert "用户名" in body and "密码" in body
    assert "cdn" not in body.lower()


@pytest.mark.parametrize("who", ROLES)
def test_each_role_logs_in_to_its_home_page(client, cast, who):
    response = _login(client, who)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    if otp_required(cast[who]):  # the city office and administrators enrol a phone first
        assert client.get(reverse("home"))["Location"] == f"{reverse('otp_enrol')}?next=%2F"
        enrol_second_factor(client)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert home.context["user"].username == who
    assert cast[who].get_role_display() in home.content.decode()


@pytest.mark.parametrize(
    ("who", "sees", "does_not_see"),
    [
        ("cadre_a", ["县1镇1村1"], ["县1镇1村2", "县2"]),
        ("township", ["县1镇1村1", "县1镇1村2"], ["县1镇2", "县2"]),
        ("county", ["县1镇1", "县1镇2"], ["县2镇1"]),
        ("city", ["县1", "县2"], []),
        ("supervisor", ["督导范围", "县2镇1", "县2镇2"], ["县1镇1"]),
    ],
)
def test_home_page_shows_the_role_scope_only(client, cast, who, sees, does_not_see):
    client.force_login(cast[who])
    body = client.get(reverse("home")).content.decode()
    for text in sees:
        assert text in body
    for text in does_not_see:
        assert text not in body


def test_navigation_shows_admin_only_to_the_system_admin(client, cast):
    client.force_login(cast["sysadmin"])
    assert ("系统管理", reverse("admin:index")) in client.get(reverse("home")).context["nav_items"]
    client.force_login(cast["city"])
    labels = [label for label, _ in client.get(reverse("home")).context["nav_items"]]
    assert labels == [
        "首页", "留守儿童", "留守妇女", "留守老人", "摸底排查", "关爱服务", "督导", "导入花名册",
        "区划与进度",
    ]  # fmt: skip


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_home_refuses_post(client, cast):
    client.force_login(cast["city"])
    assert client.post(reverse("home")).status_code == 405


def test_wrong_password_is_refused_in_chinese(client, cast):
    response = _login(client, "cadre_a", "wrong-password-1")
    assert response.status_code == 200
    assert "请输入一个正确的用户名和密码。注意，两者都区分大小写。" in response.content.decode()


def test_five_wrong_passwords_lock_the_account(client, cast):
    for _ in range(5):
        _login(client, "cadre_a", "wrong-password-1")
    response = _login(client, "cadre_a")  # the right password, too late
    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same browser is not locked.
    assert _login(client, "cadre_b").status_code == 302


def test_four_wrong_passwords_then_the_right_one_logs_in(client, cast):
    for _ in range(4):
        _login(client, "cadre_a", "wrong-password-1")
    assert _login(client, "cadre_a").status_code == 302


def test_logout_ends_the_session(client, cast):
    _login(client, "cadre_a")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_idle_session_expires_after_30_minutes(client, cast, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    _login(client, "cadre_a")
    session = Session.objects.get()
    assert session.expire_date - timezone.now() <= timedelta(minutes=30)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_activity_renews_the_idle_timeout(client, cast):
    _login(client, "cadre_a")
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(reverse("home")).status_code == 200
    assert Session.objects.get().expire_date - timezone.now() > timedelta(minutes=29)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("ab12a", "密码太短，至少需要 8 个字符。"),
        ("abcdefgh", "密码必须同时包含字母和数字。"),
        ("20221234", "密码只包含数字。"),
        ("password1", "这个密码太常见了。"),
        ("cadre_a2022", "密码跟 用户名 太相似了。"),
    ],
)
def test_weak_passwords_are_refused(cast, password, message):
    with pytest.raises(ValidationError) as exc:
        validate_password(password, user=cast["cadre_a"])
    assert message in exc.value.messages


def test_a_strong_password_passes(cast):
    assert validate_password("Liushou2022ok", user=cast["cadre_a"]) is None


def test_password_change_applies_the_rules(client, cast):
    client.force_login(cast["cadre_a"])
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "abcdefgh", "new_password2": "abcdefgh"},
    )
    assert response.status_code == 200
    assert "密码必须同时包含字母和数字。" in response.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Liushou2022ok", "new_password2": "Liushou2022ok"},
    )
    assert response.status_code == 302
    cast["cadre_a"].refresh_from_db()
    assert cast["cadre_a"].check_password("Liushou2022ok")
