"""Issue 12 item 1: the system administrator cannot take over an officer's account.

No administrator sets or learns another person's password, nobody sees a TOTP secret after
enrolment, and a new account or a reset is a one-time code in two halves — the system
administrator's and the security administrator's — that only the owner puts together
(accounts/activation.py). Sign-ins here go through the real pages, as the probe did.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import activation
from accounts.models import AccountActivation, ActivationKind, ActivationState, Role, User
from accounts.services import role_permissions_apply
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory, enrol_second_factor

NEW_PASSWORD = "Liushou2026ok"
HOME = reverse("home")
HALF = re.compile(r'id="code-half-value">([0-9A-Z]{4}-[0-9A-Z]{4})<')


def _admin(username, role):
    user = UserFactory(username=username, role=role, region=None)
    role_permissions_apply(user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admins(db):
    return {"sysadmin": _admin("sys", Role.SYSADMIN), "secadmin": _admin("sec", Role.SECURITY_ADMIN)}


@pytest.fixture
def city(cast):
    """The city office's account with its phone enrolled, as in the probe."""
    user = cast["city"]
    device = TOTPDevice.objects.create(user=user, name="手机验证器", confirmed=True)
    return user, device


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _half(response):
    found = HALF.findall(response.content.decode())
    assert len(found) == 1, response.content.decode()[:2000]
    return found[0]


def _ask_reset(client, account, reason="忘记密码", **more):
    """The system administrator's request; returns (activation, the first half the page showed)."""
    response = client.post(reverse("activation_request", args=[account.pk]), {"reason": reason, **more})
    asked = AccountActivation.objects.get(user=account, state=ActivationState.PENDING)
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("activation_detail", args=[asked.pk]),
    )
    return asked, _half(client.get(response["Location"]))


def _confirm(client, asked):
    response = client.post(reverse("activation_confirm", args=[asked.pk]))
    assert response.status_code == 302
    return _half(client.get(response["Location"]))


def _activate(client, username, first, second, password=NEW_PASSWORD):
    return client.post(
        reverse("activate"),
        {
            "username": username,
            "first_half": first,
            "second_half": second,
            "new_password1": password,
            "new_password2": password,
        },
    )


def _events(account):
    return list(
        AuditEvent.objects.filter(object_type="accounts.user", object_id=account.pk, action="password_change")
        .order_by("pk")
        .values_list("username", "result", "detail")
    )


# --- the probe: nothing in the admin shows or sets a secret ------------------------------------


def test_no_otp_device_page_exists_in_the_admin_for_anyone(client, city, admins):
    user, device = city
    root = User.objects.create_superuser("root", password=PASSWORD)
    for viewer in (admins["sysadmin"], admins["secadmin"], root):
        client.force_login(viewer)
        for url in (
            "/admin/otp_totp/totpdevice/",
            f"/admin/otp_totp/totpdevice/{device.pk}/change/",
            f"/admin/otp_totp/totpdevice/{device.pk}/config/",
            f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
            f"/admin/otp_totp/totpdevice/{device.pk}/delete/",
        ):
            assert client.get(url).status_code == 404, (viewer.username, url)
        index = client.get("/admin/").content.decode()
        assert ("totpdevice" in index, "TOTP" in index) == (False, False)
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_the_takeover_sequence_of_the_probe_fails(client, city, admins):
    """As the probe did: reset the city account's password in the admin, then sign in with it."""
    user, device = city
    before = user.password
    client.force_login(admins["sysadmin"])
    url = f"/admin/accounts/user/{user.pk}/password/"
    response = client.post(url, {"password1": "Taken-over-2026", "password2": "Taken-over-2026"})
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("activation_request", args=[user.pk]),
    )
    assert (User.objects.get(pk=user.pk).password, TOTPDevice.objects.filter(pk=device.pk).exists()) == (
        before,
        True,
    )
    # Asking for a code gives the system administrator half of it, and half is not enough.
    asked, first = _ask_reset(client, user)
    response = client.post(reverse("activation_confirm", args=[asked.pk]))
    assert _messages(response) == ["您不能确认这个激活码：确认人须是安全管理员，且不是申请人或账号本人。"]
    assert AccountActivation.objects.get(pk=asked.pk).state == ActivationState.PENDING
    stranger = Client()
    for second in ("", first, "ABCD-EFGH"):
        page = _activate(stranger, "city", first, second)
        assert page.status_code == 200
    assert "_auth_user_id" not in stranger.session
    assert (
        stranger.post(reverse("login"), {"username": "city", "password": "Taken-over-2026"}).status_code
        == 200
    )
    assert User.objects.get(pk=user.pk).password == before


def test_reset_by_two_people_lets_the_owner_in_with_a_new_password_and_a_fresh_phone(client, city, admins):
    user, device = city
    owner_elsewhere = Client()
    owner_elsewhere.force_login(user)
    assert owner_elsewhere.get(HOME).status_code == 200
    client.force_login(admins["sysadmin"])
    asked, first = _ask_reset(client, user, reason="更换手机")
    assert (
        client.get(reverse("activation_detail", args=[asked.pk])).content.decode().count("code-half-value")
        == 0
    )
    secadmin = Client()
    secadmin.force_login(admins["secadmin"])
    second = _confirm(secadmin, asked)
    assert first != second

    owner = Client()
    response = _activate(owner, "city", first.lower().replace("-", " "), second)
    assert (response.status_code, response["Location"]) == (302, HOME)
    stored = User.objects.get(pk=user.pk)
    assert (stored.check_password(NEW_PASSWORD), stored.must_change_password) == (True, False)
    assert TOTPDevice.objects.filter(user=user).count() == 0
    # The city office must use a second factor: the owner binds a fresh phone, in this session.
    response = owner.get(HOME)
    assert response["Location"] == f"{reverse('otp_enrol')}?next=%2F"
    key, response = enrol_second_factor(owner)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert owner.get(HOME).status_code == 200
    # Every old session ended; the code cannot be used twice.
    assert owner_elsewhere.get(HOME).status_code == 302
    assert _activate(Client(), "city", first, second, "Another-pass-2026").status_code == 200
    assert AccountActivation.objects.get(pk=asked.pk).state == ActivationState.USED
    assert _events(user) == [
        ("sys", "success", "申请重置密码激活码（原因：更换手机），待安全管理员确认"),
        ("sec", "success", "确认重置密码激活码（申请人：sys）"),
        ("", "success", "密码已修改"),  # audit/signals.py, on every password change
        ("city", "success", "本人使用激活码设置新密码（重置密码），原两步验证设备已删除"),
    ]


def test_the_owner_is_told_at_the_next_login_what_was_done_and_by_whom(client, cast, admins):
    cadre = cast["cadre_a"]
    sysadmin = Client()
    sysadmin.force_login(admins["sysadmin"])
    asked, _ = _ask_reset(sysadmin, cadre, reason="本人来电")
    when = timezone.localtime(asked.requested_at).strftime("%Y-%m-%d %H:%M")
    response = client.post(reverse("login"), {"username": "cadre_a", "password": PASSWORD})
    assert response.status_code == 302
    assert _messages(response) == [
        f"系统管理员 {admins['sysadmin'].display_name}（sys）于 {when} 申请重置您的密码（原因：本人来电），"
        "尚未经安全管理员确认，当前状态：待安全管理员确认。如非本人要求，请立即联系安全管理员。"
    ]
    again = Client().post(reverse("login"), {"username": "cadre_a", "password": PASSWORD})
    assert _messages(again) == []


def test_a_new_account_has_no_password_until_its_owner_activates_it(client, admins, tree):
    client.force_login(admins["sysadmin"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "password1": "Known-to-admin-1",
            "password2": "Known-to-admin-1",
            "_save": "1",
        },
    )
    user = User.objects.get(username="newbie")
    asked = AccountActivation.objects.get(user=user)
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("activation_detail", args=[asked.pk]),
    )
    first = _half(client.get(response["Location"]))
    assert client.get(response["Location"]).content.decode().count("code-half-value") == 0
    assert (user.has_usable_password(), asked.kind, asked.reason) == (
        False,
        ActivationKind.NEW_ACCOUNT,
        "新建账号",
    )
    assert (
        Client().post(reverse("login"), {"username": "newbie", "password": "Known-to-admin-1"}).status_code
        == 200
    )
    # The security administrator gives it a role and confirms; the owner activates it.
    secadmin = Client()
    secadmin.force_login(admins["secadmin"])
    user.role, user.region = Role.CITY_OFFICE, tree["4109"]
    user.save()
    second = _confirm(secadmin, asked)
    owner = Client()
    assert _activate(owner, "newbie", first, second).status_code == 302
    assert owner.get(HOME)["Location"] == f"{reverse('otp_enrol')}?next=%2F"
    _, response = enrol_second_factor(owner)
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1


def test_a_password_set_by_someone_else_cannot_bind_the_phone(client, cast):
    """An account from before activation codes (its password set by an administrator) that must
    use TOTP: whoever knows that password cannot enrol — only the owner's activation code can."""
    city = cast["city"]
    city.must_change_password = True
    city.save()
    assert client.post(reverse("login"), {"username": "city", "password": PASSWORD}).status_code == 302
    assert client.get(HOME)["Location"] == f"{reverse('otp_enrol')}?next=%2F"
    page = client.get(reverse("otp_enrol"))
    assert page.status_code == 403
    assert "请联系系统管理员为您申请激活码" in page.content.decode()
    response = client.post(reverse("otp_enrol"), {"token": "123456"})
    assert (response.status_code, TOTPDevice.objects.filter(user=city).count()) == (403, 0)


def test_five_wrong_codes_void_the_code(cast, admins):
    cadre = cast["cadre_a"]
    asked, first = activation.activation_request(
        account=cadre, requested_by=admins["sysadmin"], kind=ActivationKind.RESET, reason="忘记密码"
    )
    asked, second = activation.activation_confirm(activation=asked, confirmed_by=admins["secadmin"])
    owner = Client()
    for _ in range(5):
        page = _activate(owner, "cadre_a", first, "ZZZZ-ZZZZ")
        assert page.context["form"].non_field_errors() == [activation.WRONG_CODE]
    asked.refresh_from_db()
    assert (asked.state, asked.failed_attempts, asked.end_reason) == (
        ActivationState.CANCELLED,
        5,
        "激活码连续输错 5 次，已作废",
    )
    assert _activate(owner, "cadre_a", first, second).status_code == 200
    assert User.objects.get(pk=cadre.pk).check_password(PASSWORD) is True


def test_an_expired_code_is_refused(cast, admins):
    cadre = cast["cadre_a"]
    asked, first = activation.activation_request(
        account=cadre, requested_by=admins["sysadmin"], kind=ActivationKind.RESET, reason="忘记密码"
    )
    asked, second = activation.activation_confirm(activation=asked, confirmed_by=admins["secadmin"])
    later = asked.expires_at + timedelta(seconds=1)
    with pytest.raises(activation.ValidationError) as refused:
        activation.activation_use(
            username="cadre_a", first_half=first, second_half=second, password=NEW_PASSWORD, now=later
        )
    assert refused.value.messages == [activation.WRONG_CODE]
    asked.refresh_from_db()
    assert (asked.state, asked.end_reason) == (ActivationState.CANCELLED, "已过期")
    on_time = asked.expires_at - timedelta(seconds=1)
    assert (asked.expires_at - asked.requested_at, on_time > asked.requested_at) == (
        timedelta(hours=72),
        True,
    )


def test_a_weak_new_password_keeps_the_code_and_says_why(cast, admins):
    cadre = cast["cadre_a"]
    asked, first = activation.activation_request(
        account=cadre, requested_by=admins["sysadmin"], kind=ActivationKind.RESET, reason="忘记密码"
    )
    asked, second = activation.activation_confirm(activation=asked, confirmed_by=admins["secadmin"])
    page = _activate(Client(), "cadre_a", first, second, password="12345678")
    assert page.status_code == 200
    assert page.context["form"].errors["new_password1"] == [
        "这个密码太常见了。",
        "密码只包含数字。",
        "密码必须同时包含字母和数字。",
    ]
    asked.refresh_from_db()
    assert (asked.state, asked.failed_attempts) == (ActivationState.ISSUED, 0)


def test_a_second_request_voids_the_first_and_a_replayed_confirm_issues_nothing(client, cast, admins):
    cadre = cast["cadre_a"]
    client.force_login(admins["sysadmin"])
    first_asked, _ = _ask_reset(client, cadre)
    replayed = client.post(reverse("activation_request", args=[cadre.pk]), {"reason": "忘记密码"})
    assert (replayed.status_code, replayed.context["form"].non_field_errors()) == (
        200,
        [activation.OPEN_ALREADY],
    )
    assert AccountActivation.objects.get(user=cadre).pk == first_asked.pk
    second_asked, _ = _ask_reset(client, cadre, reason="第二次", replace="on")
    first_asked.refresh_from_db()
    assert (first_asked.state, first_asked.end_reason) == (ActivationState.CANCELLED, "已由新的申请取代")
    secadmin = Client()
    secadmin.force_login(admins["secadmin"])
    _confirm(secadmin, second_asked)
    replay = secadmin.post(reverse("activation_confirm", args=[second_asked.pk]))
    assert _messages(replay) == ["该激活码当前状态为“已发放，待本人激活”，不能再执行此操作。"]
    assert secadmin.get(replay["Location"]).content.decode().count("code-half-value") == 0
    assert secadmin.post(reverse("activation_confirm", args=[first_asked.pk])).status_code == 302
    assert AccountActivation.objects.get(pk=first_asked.pk).confirmed_by is None


def test_only_the_administrators_see_activation_pages(client, cast, admins):
    asked, _ = activation.activation_request(
        account=cast["cadre_a"], requested_by=admins["sysadmin"], kind=ActivationKind.RESET, reason="忘记密码"
    )
    auditor = _admin("aud", Role.AUDIT_ADMIN)
    for viewer in (*cast.values(), auditor):
        if viewer.role == Role.SYSADMIN:
            continue
        client.force_login(viewer)
        for url in (
            reverse("activation_list"),
            reverse("activation_detail", args=[asked.pk]),
            reverse("activation_request", args=[cast["cadre_b"].pk]),
        ):
            assert client.get(url).status_code == 404, (viewer.username, url)
        for url in (
            reverse("activation_confirm", args=[asked.pk]),
            reverse("activation_cancel", args=[asked.pk]),
        ):
            assert client.post(url).status_code == 404, (viewer.username, url)
    assert AccountActivation.objects.get(pk=asked.pk).state == ActivationState.PENDING


def test_the_security_administrator_is_led_to_what_waits_for_confirmation(client, cast, admins):
    activation.activation_request(
        account=cast["cadre_a"], requested_by=admins["sysadmin"], kind=ActivationKind.RESET, reason="忘记密码"
    )
    client.force_login(admins["secadmin"])
    home = client.get(HOME)
    assert home.context["activations_waiting"] == 1
    listing = client.get(reverse("activation_list")).content.decode()
    assert listing.count("去确认") == 1
