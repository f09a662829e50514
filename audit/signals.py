"""Logins, logouts and failed logins reach the audit log through the signals Django and
django-axes send: the login and logout views belong to Django, so there is no service to call.

A password change has no signal of its own: a change of the stored hash is noticed around the
user's save, whoever made it (the user, an administrator's reset, a service)."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from audit.services import Action, Result, audit_record


def _known_user(username):
    if not username:
        return None
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    audit_record(request=request, user=user, action=Action.LOGIN, obj=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(request=request, user=user, action=Action.LOGOUT, obj=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # A refusal of a locked-out account is written once, by ``_locked_out`` below (django-axes's
    # own receiver of this signal, connected before ours, sends that signal first).
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    username = (credentials or {}).get("username", "") or ""
    user = _known_user(username)
    audit_record(
        request=request,
        user=user,
        username=username,
        action=Action.LOGIN_FAILED,
        obj=user,
        result=Result.FAILURE,
        detail="用户名或密码错误" if user is None or user.is_active else "账号已停用",
    )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    user = _known_user(username)
    audit_record(
        request=request,
        user=user,
        username=username or "",
        action=Action.LOGIN_FAILED,
        obj=user,
        result=Result.DENIED,
        detail="连续登录失败，账号已锁定，拒绝登录",
    )


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit_password_seen")
def _password_before(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._audit_password_changed = False
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    # An account's first password (stored empty) is part of creating it, not a change.
    instance._audit_password_changed = bool(stored) and stored != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit_password_changed")
def _password_after(sender, instance, created, raw=False, **kwargs):
    if getattr(instance, "_audit_password_changed", False):
        instance._audit_password_changed = False
        audit_record(action=Action.PASSWORD_CHANGE, obj=instance, detail="密码已修改")
