"""Activation codes: the only way an account gets a password after the admin creates or resets it.

三权分立 (issue 12): no administrator ever sets or learns another person's password. Instead

1. the system administrator asks for an activation (a new account, or a reset with a reason)
   and is shown the code's **first half**, once;
2. the security administrator — a second person — confirms it and is shown the **second half**,
   once;
3. each hands their half to the account's owner; the owner enters both on the 账号激活 page,
   chooses a new password, and (for the roles that must) enrols a fresh second factor: the
   account's old TOTP devices are removed and every old session ends.

Neither administrator alone can use a code; only hashes are stored; a code expires
``settings.ACCOUNT_ACTIVATION_HOURS`` after it is asked for and dies after
``settings.ACCOUNT_ACTIVATION_MAX_FAILURES`` wrong tries. The owner is told at the next login
what happened, when and by whom. Every step is an audit event (密码修改).

The workflow is the table ``TRANSITIONS``: (state, action) → next state; every service below
moves through it and nothing else changes ``state``.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import policy
from accounts.models import (
    OPEN_ACTIVATION_STATES,
    AccountActivation,
    ActivationKind,
    ActivationState,
    User,
)
from audit.services import Action, Result, audit_record

# No 0/O, 1/I: a half is read aloud over the phone or copied from paper.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
HALF_LENGTH = 8  # 40 bits a half, 80 for the code

TRANSITIONS = {
    (ActivationState.PENDING, "confirm"): ActivationState.ISSUED,
    (ActivationState.PENDING, "cancel"): ActivationState.CANCELLED,
    (ActivationState.ISSUED, "use"): ActivationState.USED,
    (ActivationState.ISSUED, "cancel"): ActivationState.CANCELLED,
}

OPEN_ALREADY = "该账号已有一个未使用的激活码。如确需重新申请，请勾选“作废原激活码并重新申请”。"
WRONG_CODE = "用户名或激活码不正确，或激活码已失效。请核对两段激活码；仍不行请联系系统管理员重新申请。"


def _next_state(activation, action):
    try:
        return TRANSITIONS[(activation.state, action)]
    except KeyError:
        raise ValidationError(
            f"该激活码当前状态为“{activation.get_state_display()}”，不能再执行此操作。"
        ) from None


def may(activation, action):
    """Does the table allow ``action`` on ``activation`` in its present state?"""
    return (activation.state, action) in TRANSITIONS


def new_half():
    return "".join(secrets.choice(ALPHABET) for _ in range(HALF_LENGTH))


def format_half(half):
    return f"{half[:4]}-{half[4:]}"


def clean_half(text):
    """What a person typed, as stored: upper case, without spaces and dashes."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


SESSION_HALVES_KEY = "_activation_halves"
# Set in the session of an owner who has just used a code: the second-factor enrolment that follows
# belongs to the person who held both halves (accounts.views.otp_enrol).
SESSION_ACTIVATED_KEY = "_activated_with_code"


def remember_half(request, activation, half):
    """Keep ``half`` in the asker's session until the next page shows it, once (no code in a URL)."""
    halves = request.session.get(SESSION_HALVES_KEY, {})
    halves[str(activation.pk)] = half
    request.session[SESSION_HALVES_KEY] = halves


def take_half(request, activation):
    """The half remembered for ``activation`` in this session, forgotten as it is taken; or None."""
    halves = request.session.get(SESSION_HALVES_KEY, {})
    half = halves.pop(str(activation.pk), None)
    if half is not None:
        request.session[SESSION_HALVES_KEY] = halves
    return half


def is_expired(activation, now=None):
    return (now or timezone.now()) >= activation.expires_at


@transaction.atomic
def activation_request(*, account, requested_by, kind, reason, replace=False, now=None):
    """Ask for an activation code for ``account``; returns (activation, first half).

    Refused unless ``requested_by`` may manage ``account`` (policy.can_request_activation), and
    while the account has an open activation unless ``replace`` says to void it (so a resent
    form does not silently void the code just handed out).
    Side effects: with ``replace``, the open activation is 作废 (superseded); a new one is stored
    with the hash of its first half; a 密码修改 audit event. The account's password, devices and
    sessions are untouched until the owner uses the code.
    """
    if not policy.can_request_activation(requested_by, account):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写原因（如：忘记密码、更换手机、新建账号）。"})
    now = now or timezone.now()
    User.objects.select_for_update().filter(pk=account.pk).first()
    open_ones = list(AccountActivation.objects.filter(user=account, state__in=OPEN_ACTIVATION_STATES))
    if open_ones and not replace:
        raise ValidationError(OPEN_ALREADY)
    for earlier in open_ones:
        _end(earlier, ActivationState.CANCELLED, "已由新的申请取代", now)
    half = new_half()
    activation = AccountActivation(
        user=account,
        kind=kind,
        reason=reason[:200],
        requested_by=requested_by,
        requested_at=now,
        expires_at=now + timedelta(hours=settings.ACCOUNT_ACTIVATION_HOURS),
        first_half_hash=make_password(half),
    )
    activation.full_clean()
    activation.save()
    audit_record(
        user=requested_by,
        action=Action.PASSWORD_CHANGE,
        obj=account,
        detail=f"申请{activation.get_kind_display()}激活码（原因：{activation.reason}），待安全管理员确认",
    )
    return activation, half


@transaction.atomic
def activation_confirm(*, activation, confirmed_by, now=None):
    """The second person confirms ``activation``; returns (activation, second half).

    Side effects: the state becomes 已发放; the second half's hash is stored; a 密码修改 event.
    """
    now = now or timezone.now()
    activation = AccountActivation.objects.select_for_update().get(pk=activation.pk)
    if not policy.can_confirm_activation(confirmed_by, activation):
        raise PermissionDenied
    state = _next_state(activation, "confirm")
    if is_expired(activation, now):
        _end(activation, ActivationState.CANCELLED, "已过期", now)
        raise ValidationError("该激活码申请已过期，请系统管理员重新申请。")
    half = new_half()
    activation.state = state
    activation.confirmed_by = confirmed_by
    activation.confirmed_at = now
    activation.second_half_hash = make_password(half)
    activation.save(update_fields=["state", "confirmed_by", "confirmed_at", "second_half_hash"])
    audit_record(
        user=confirmed_by,
        action=Action.PASSWORD_CHANGE,
        obj=activation.user,
        detail=f"确认{activation.get_kind_display()}激活码（申请人：{activation.requested_by.username}）",
    )
    return activation, half


@transaction.atomic
def activation_cancel(*, activation, by, reason="", now=None):
    """Withdraw an open activation (the requester, or a security administrator).

    Side effects: the state becomes 已作废 with the reason; a 密码修改 event."""
    activation = AccountActivation.objects.select_for_update().get(pk=activation.pk)
    if not policy.can_cancel_activation(by, activation):
        raise PermissionDenied
    _next_state(activation, "cancel")
    why = (reason or "").strip() or f"由{by.username}撤销"
    _end(activation, ActivationState.CANCELLED, why, now or timezone.now())
    audit_record(user=by, action=Action.PASSWORD_CHANGE, obj=activation.user, detail=f"撤销激活码：{why}")
    return activation


def _end(activation, state, reason, now):
    activation.state = state
    activation.ended_at = now
    activation.end_reason = reason[:200]
    activation.save(update_fields=["state", "ended_at", "end_reason"])


def activation_use(*, username, first_half, second_half, password, now=None):
    """The owner sets ``password`` with both halves; returns the account.

    Raises ValidationError (in Chinese) for an unknown user, a wrong, unconfirmed, used or expired
    code — one message for all, so nobody learns which usernames exist — or a password the rules
    refuse (nothing is written then).
    Side effects on success: the password is set and ``must_change_password`` cleared; every TOTP
    device of the account is deleted (a fresh enrolment follows); every session of the account
    ends (its epoch is incremented); the activation becomes 已激活 and counts as told to the owner;
    a 密码修改 event. A wrong code is kept as a failure (its own transaction, so the refusal does
    not roll it back); at the limit the code is 作废, and so is an expired one.
    """
    now = now or timezone.now()
    with transaction.atomic():
        account = User.objects.select_for_update().filter(username=(username or "").strip()).first()
        activation = None
        if account is not None and account.is_active:
            activation = (
                AccountActivation.objects.select_for_update()
                .filter(user=account, state=ActivationState.ISSUED)
                .first()
            )
        refused = activation is None
        if not refused and is_expired(activation, now):
            _end(activation, ActivationState.CANCELLED, "已过期", now)
            refused = True
        elif not refused and not (
            check_password(clean_half(first_half), activation.first_half_hash)
            and check_password(clean_half(second_half), activation.second_half_hash)
        ):
            _count_failure(activation, account, now)
            refused = True
        if not refused:
            password_validation.validate_password(password, account)
            _set_password(account, activation, password, now)
    if refused:
        raise ValidationError(WRONG_CODE)
    return account


def _set_password(account, activation, password, now):
    account.set_password(password)
    account.must_change_password = False
    account.save(update_fields=["password", "must_change_password"])
    User.objects.filter(pk=account.pk).update(session_epoch=F("session_epoch") + 1)
    account.refresh_from_db(fields=["session_epoch"])
    TOTPDevice.objects.filter(user=account).delete()
    activation.state = _next_state(activation, "use")
    activation.ended_at = activation.owner_notified_at = now
    activation.save(update_fields=["state", "ended_at", "owner_notified_at"])
    audit_record(
        user=account,
        action=Action.PASSWORD_CHANGE,
        obj=account,
        detail=f"本人使用激活码设置新密码（{activation.get_kind_display()}），原两步验证设备已删除",
    )


def _count_failure(activation, account, now):
    """A wrong code: one more failure, and 作废 at the limit."""
    activation.failed_attempts += 1
    fields = ["failed_attempts"]
    if activation.failed_attempts >= settings.ACCOUNT_ACTIVATION_MAX_FAILURES:
        activation.state = ActivationState.CANCELLED
        activation.ended_at = now
        activation.end_reason = f"激活码连续输错 {activation.failed_attempts} 次，已作废"
        fields += ["state", "ended_at", "end_reason"]
    activation.save(update_fields=fields)
    audit_record(
        user=None,
        username=account.username,
        action=Action.PASSWORD_CHANGE,
        obj=account,
        result=Result.FAILURE,
        detail=f"激活码错误（第 {activation.failed_attempts} 次）",
    )


def waiting_count(*, user):
    """How many open activations wait for ``user``: to confirm (a security administrator), or —
    for the system administrator — asked for and not yet used."""
    open_ones = AccountActivation.objects.filter(state__in=OPEN_ACTIVATION_STATES)
    if policy.is_security_admin(user):
        return open_ones.filter(state=ActivationState.PENDING).exclude(user=user).count()
    return open_ones.count()


def notices_for_owner(*, user, now=None):
    """What was done to ``user``'s account by administrators that the owner has not been told yet,
    as sentences; marks them told. Called at login.

    Side effects: sets ``owner_notified_at`` on those activations."""
    now = now or timezone.now()
    pending = list(
        AccountActivation.objects.filter(user=user, owner_notified_at__isnull=True, kind=ActivationKind.RESET)
        .select_related("requested_by", "confirmed_by")
        .order_by("requested_at")
    )
    sentences = []
    for activation in pending:
        when = timezone.localtime(activation.requested_at).strftime("%Y-%m-%d %H:%M")
        text = (
            f"系统管理员 {activation.requested_by.display_name}（{activation.requested_by.username}）"
            f"于 {when} 申请重置您的密码（原因：{activation.reason}），"
        )
        if activation.confirmed_by_id:
            confirmed = timezone.localtime(activation.confirmed_at).strftime("%Y-%m-%d %H:%M")
            text += (
                f"安全管理员 {activation.confirmed_by.display_name}（{activation.confirmed_by.username}）"
                f"于 {confirmed} 确认"
            )
        else:
            text += "尚未经安全管理员确认"
        text += f"，当前状态：{activation.get_state_display()}。如非本人要求，请立即联系安全管理员。"
        sentences.append(text)
    AccountActivation.objects.filter(pk__in=[a.pk for a in pending]).update(owner_notified_at=now)
    return sentences
