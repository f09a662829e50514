"""Authentication hardening (issue 6 item 2): first-login password change, logout and password change
ending the user's other sessions, the absolute session limit, TOTP two-factor sign-in.

Every sign-in here goes through the real pages: ``client.post`` to the login page, then the code
computed from the device's key (django_otp.oath.TOTP) — never the conftest's force_login shim.
"""

from base64 import b32decode
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import auth
from accounts.forms import UserAddForm
from accounts.middleware import MESSAGE_OTHER_SESSION_ENDED, MESSAGE_TOO_OLD
from accounts.models import ADMIN_ROLES, Role, User
from accounts.services import user_upsert
from tests.factories import PASSWORD, UserFactory, enrol_second_factor, totp_code

NEW_PASSWORD = "Liushou2022ok"
HOME = reverse("home")


def _login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _wrong_code(key):
    """A code no step of the accepted window (one before, now, one after) produces."""
    window = {totp_code(key, step) for step in (-1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in window)


def _two_clients_logged_in(username):
    first, second = Client(), Client()
    for client in (first, second):
        assert _login(client, username).status_code == 302
        assert client.get(HOME).status_code == 200
    return first, second


# --- first login: change the initial password ---------------------------------------------------


def test_new_account_must_change_its_password_before_any_page(client, cast):
    auth.password_set_by_admin(cast["cadre_a"])
    assert _login(client, "cadre_a").status_code == 302
    for url in (HOME, reverse("record_list", kwargs={"kind": "children"}), reverse("otp_settings")):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, reverse("password_change")), url
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert page.content.decode().count("首次登录请先修改初始密码。") == 1
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert (response.status_code, response["Location"]) == (302, reverse("password_change_done"))
    user = User.objects.get(username="cadre_a")
    assert (user.must_change_password, user.check_password(NEW_PASSWORD)) == (False, True)
    assert client.get(HOME).status_code == 200
    assert "首次登录请先修改初始密码。" not in client.get(reverse("password_change")).content.decode()


def test_the_first_login_message_is_shown(client, cast):
    auth.password_set_by_admin(cast["cadre_a"])
    _login(client, "cadre_a")
    response = client.get(HOME, follow=True)
    assert response.redirect_chain == [(reverse("password_change"), 302)]
    assert "首次登录请先修改初始密码。" in response.content.decode()


def test_first_login_still_allows_logout(client, cast):
    auth.password_set_by_admin(cast["cadre_a"])
    _login(client, "cadre_a")
    response = client.post(reverse("logout"))
    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert "_auth_user_id" not in client.session


def test_admin_add_form_sets_no_password_whatever_is_posted(db):
    """Nobody sets another person's password (issue 12): the owner sets it with an activation code
    (tests/test_account_activation.py)."""
    form = UserAddForm(
        data={
            "username": "newcomer",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        }
    )
    assert form.is_valid(), form.errors
    user = form.save()
    user.refresh_from_db()
    assert (user.has_usable_password(), user.check_password(NEW_PASSWORD), user.must_change_password) == (
        False,
        False,
        False,
    )


def test_demo_style_accounts_need_no_password_change(tree):
    user = user_upsert(
        username="demo1", role=Role.VILLAGE_CADRE, region=tree["410922100201"], password=PASSWORD
    )
    assert user.must_change_password is False
    assert User.objects.get(username="demo1").must_change_password is False


# --- logout and password change end the user's other sessions -----------------------------------


def test_logout_ends_every_other_session_of_the_user(cast):
    first, second = _two_clients_logged_in("cadre_a")
    other_user = Client()
    _login(other_user, "cadre_b")
    first.post(reverse("logout"))
    assert User.objects.get(username="cadre_a").session_epoch == 1
    response = second.get(HOME)
    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert _messages(response) == [MESSAGE_OTHER_SESSION_ENDED]
    assert "_auth_user_id" not in second.session
    assert other_user.get(HOME).status_code == 200  # another user's session is untouched


def test_logging_in_again_after_a_logout_elsewhere_works(cast):
    first, second = _two_clients_logged_in("cadre_a")
    first.post(reverse("logout"))
    second.get(HOME)
    assert _login(second, "cadre_a").status_code == 302
    assert second.get(HOME).status_code == 200


def test_admin_logout_also_ends_other_sessions(cast):
    first, second = _two_clients_logged_in("cadre_a")
    response = first.post(reverse("admin:logout"))
    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert second.get(HOME).status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(cast):
    first, second = _two_clients_logged_in("cadre_a")
    response = first.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(username="cadre_a").session_epoch == 1
    assert first.get(HOME).status_code == 200
    assert first.session[auth.SESSION_EPOCH_KEY] == 1
    # (Django's session hash already refuses the old password's sessions; the epoch agrees.)
    response = second.get(HOME)
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next=/")


def test_a_refused_password_change_ends_nothing(cast):
    first, second = _two_clients_logged_in("cadre_a")
    first.post(
        reverse("password_change"),
        {"old_password": "wrong-password-1", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert User.objects.get(username="cadre_a").session_epoch == 0
    assert second.get(HOME).status_code == 200


# --- absolute session limit -----------------------------------------------------------------------


def test_absolute_limit_defaults_to_eight_hours(settings):
    assert settings.SESSION_ABSOLUTE_SECONDS == 8 * 3600


def _age_session(client, seconds):
    session = client.session
    session[auth.SESSION_LOGIN_AT_KEY] -= seconds
    session.save()


def test_an_active_session_ends_at_the_absolute_limit(client, cast, settings):
    _login(client, "cadre_a")
    _age_session(client, settings.SESSION_ABSOLUTE_SECONDS - 60)
    assert client.get(HOME).status_code == 200
    _age_session(client, 120)
    response = client.get(HOME)
    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert _messages(response) == [MESSAGE_TOO_OLD]
    assert MESSAGE_TOO_OLD == "登录已超过最长时限，请重新登录。"
    assert client.get(HOME).status_code == 302
    assert _login(client, "cadre_a").status_code == 302
    assert client.get(HOME).status_code == 200  # a new login starts a new period


def test_the_absolute_limit_comes_from_the_setting(client, cast, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 10
    _login(client, "cadre_a")
    _age_session(client, 11)
    assert client.get(HOME).status_code == 302


# --- TOTP two-factor sign-in ----------------------------------------------------------------------


def test_the_required_roles_are_the_administrators_and_the_city_office(settings):
    assert set(settings.OTP_REQUIRED_ROLES) == {*ADMIN_ROLES, Role.CITY_OFFICE}


def test_city_office_is_sent_to_enrol_before_any_page(client, cast):
    _login(client, "city")
    for url in (HOME, reverse("record_list", kwargs={"kind": "children"}), reverse("password_change")):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (
            302,
            f"{reverse('otp_enrol')}?next={url.replace('/', '%2F')}",
        ), url
    page = client.get(reverse("otp_enrol"))
    body = page.content.decode()
    assert page.status_code == 200
    assert '<svg width="264" height="264" role="img"' in body
    assert "style=" not in body and "<script>" not in body
    assert page.context["secret"].replace(" ", "") in body.replace(" ", "")
    assert "您的账号须使用两步验证" in body


def test_enrolment_refuses_a_wrong_code_and_accepts_the_right_one(client, cast):
    _login(client, "city")
    page = client.get(reverse("otp_enrol"), {"next": "/survey/"})
    key = b32decode(page.context["secret"].replace(" ", ""))
    response = client.post(reverse("otp_enrol"), {"token": _wrong_code(key), "next": "/survey/"})
    assert response.status_code == 200
    assert response.context["form"].errors["token"] == ["验证码不正确，请核对手机时间后输入最新的验证码。"]
    assert TOTPDevice.objects.count() == 0
    assert client.get(HOME).status_code == 302
    response = client.post(reverse("otp_enrol"), {"token": totp_code(key), "next": "/survey/"})
    assert (response.status_code, response["Location"]) == (302, "/survey/")
    device = TOTPDevice.objects.get()
    assert (device.user, device.confirmed, device.bin_key) == (cast["city"], True, key)
    assert client.get(HOME).status_code == 200


def test_a_city_user_with_a_device_is_asked_for_the_code_at_every_login(client, cast):
    _login(client, "city")
    key, _ = enrol_second_factor(client)
    client.post(reverse("logout"))
    _login(client, "city")
    response = client.get(HOME)
    assert (response.status_code, response["Location"]) == (302, f"{reverse('otp_verify')}?next=%2F")
    assert client.get(reverse("otp_enrol")).status_code == 302  # no second device while unverified
    response = client.post(reverse("otp_verify"), {"token": _wrong_code(key), "next": HOME})
    assert response.status_code == 200
    assert response.context["form"].errors["token"] == ["验证码不正确，请核对手机时间后输入最新的验证码。"]
    assert client.get(HOME).status_code == 302
    response = client.post(reverse("otp_verify"), {"token": totp_code(key, later=1), "next": HOME})
    assert (response.status_code, response["Location"]) == (302, HOME)
    assert client.get(HOME).status_code == 200


def test_a_code_cannot_be_used_twice(client, cast):
    _login(client, "city")
    key, _ = enrol_second_factor(client)
    client.post(reverse("logout"))
    _login(client, "city")
    response = client.post(reverse("otp_verify"), {"token": totp_code(key), "next": HOME})
    assert response.status_code == 200  # the code that enrolled the device is spent
    assert client.get(HOME).status_code == 302


def test_five_wrong_codes_lock_even_the_right_one(client, cast):
    device = TOTPDevice.objects.create(user=cast["city"], name="手机", confirmed=True)
    _login(client, "city")
    for _ in range(4):
        assert client.post(reverse("otp_verify"), {"token": _wrong_code(device.bin_key)}).status_code == 200
    response = client.post(reverse("otp_verify"), {"token": _wrong_code(device.bin_key)})
    assert response.status_code == 429
    assert (
        "验证码连续输错 5 次，两步验证已暂时锁定。请 30 分钟后再试，或联系系统管理员。"
        in response.content.decode()
    )
    response = client.post(reverse("otp_verify"), {"token": totp_code(device.bin_key)})
    assert response.status_code == 429
    assert client.get(HOME).status_code == 302
    assert client.get(reverse("otp_verify")).status_code == 429
    # After the cool-off time the right code signs in.
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=31))
    response = client.post(reverse("otp_verify"), {"token": totp_code(device.bin_key)})
    assert (response.status_code, response["Location"]) == (302, HOME)
    assert TOTPDevice.objects.get().throttling_failure_count == 0


def test_the_admin_site_requires_the_second_factor(client, cast):
    _login(client, "sysadmin")
    response = client.get(reverse("admin:index"))
    assert (response.status_code, response["Location"]) == (302, f"{reverse('otp_enrol')}?next=%2Fadmin%2F")
    _, response = enrol_second_factor(client, next_url=reverse("admin:index"))
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_without_a_required_role_still_needs_the_second_factor_for_the_admin(client, tree):
    UserFactory(username="helper", role=Role.COUNTY_OFFICER, region=tree["410922"], is_staff=True)
    _login(client, "helper")
    response = client.get(reverse("admin:index"))
    assert (response.status_code, response["Location"]) == (302, f"{reverse('otp_enrol')}?next=%2Fadmin%2F")


def test_a_cadre_is_not_asked_to_enrol(client, cast):
    _login(client, "cadre_a")
    assert client.get(HOME).status_code == 200
    page = client.get(reverse("otp_settings"))
    assert "未启用" in page.content.decode()
    assert client.get(reverse("otp_verify")).status_code == 302


def test_a_cadre_may_enrol_and_is_then_asked_at_the_next_login(client, cast):
    _login(client, "cadre_a")
    page = client.get(reverse("otp_enrol"))
    assert "您的账号须使用两步验证" not in page.content.decode()
    key, response = enrol_second_factor(client, next_url=reverse("otp_settings"))
    assert response["Location"] == reverse("otp_settings")
    assert "已启用" in client.get(reverse("otp_settings")).content.decode()
    client.post(reverse("logout"))
    _login(client, "cadre_a")
    response = client.get(HOME)
    assert (response.status_code, response["Location"]) == (302, f"{reverse('otp_verify')}?next=%2F")
    client.post(reverse("otp_verify"), {"token": totp_code(key, later=1)})
    assert client.get(HOME).status_code == 200


def test_a_cadre_may_turn_the_second_factor_off(client, cast):
    _login(client, "cadre_a")
    enrol_second_factor(client)
    response = client.post(reverse("otp_remove"))
    assert (response.status_code, response["Location"]) == (302, reverse("otp_settings"))
    assert TOTPDevice.objects.count() == 0
    assert client.get(HOME).status_code == 200
    client.post(reverse("logout"))
    _login(client, "cadre_a")
    assert client.get(HOME).status_code == 200


def test_the_city_office_cannot_turn_the_second_factor_off(client, cast):
    _login(client, "city")
    enrol_second_factor(client)
    response = client.post(reverse("otp_remove"), follow=True)
    assert "您的账号必须使用两步验证，不能关闭。更换手机请联系系统管理员。" in response.content.decode()
    assert TOTPDevice.objects.filter(user=cast["city"], confirmed=True).count() == 1


def test_the_code_page_never_sends_elsewhere(client, cast):
    TOTPDevice.objects.create(user=cast["city"], name="手机", confirmed=True)
    _login(client, "city")
    device = TOTPDevice.objects.get()
    response = client.post(
        reverse("otp_verify"), {"token": totp_code(device.bin_key), "next": "https://evil.example.com/"}
    )
    assert (response.status_code, response["Location"]) == (302, HOME)


def test_the_menu_offers_the_two_factor_page(client, cast):
    _login(client, "cadre_a")
    assert f'href="{reverse("otp_settings")}">两步验证</a>' in client.get(HOME).content.decode()


def test_force_login_shim_marks_required_users_verified(client, cast):
    """The conftest shim (not the code path under test) still lets other tests open pages."""
    client.force_login(cast["city"])
    assert client.get(HOME).status_code == 200


# --- lockout: an unknown user and a wrong password look alike ------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_message(cast):
    known, unknown = Client(), Client()
    a = _login(known, "cadre_a", "wrong-password-1")
    b = _login(unknown, "nobody", "wrong-password-1")
    assert (a.status_code, b.status_code) == (200, 200)
    assert a.context["form"].non_field_errors() == b.context["form"].non_field_errors()


def test_unknown_user_is_locked_out_like_a_real_one(cast):
    known, unknown = Client(), Client()
    for _ in range(5):
        _login(known, "cadre_a", "wrong-password-1")
        _login(unknown, "nobody", "wrong-password-1")
    a, b = _login(known, "cadre_a"), _login(unknown, "nobody")
    assert (a.status_code, b.status_code) == (429, 429)
    assert a.content == b.content
    assert "账号已暂时锁定" in a.content.decode()


@pytest.mark.parametrize("name", ["otp_verify", "otp_enrol", "otp_settings"])
def test_two_factor_pages_need_a_login(client, db, name):
    response = client.get(reverse(name))
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next={reverse(name)}")
