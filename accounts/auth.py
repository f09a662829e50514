"""Sessions and passwords (issue 6 item 2): the session epoch, the absolute session limit and the
first-login password change.

A session carries the user's ``session_epoch`` as it was at login and the time of login. Ending
every session of a user is one ``F()`` update of the epoch: each of that user's other sessions
then holds a stale epoch, and ``accounts.middleware.SessionGuardMiddleware`` logs it out at its
next request. Nothing walks the session table.
"""

import time

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db.models import F

from accounts.models import User

SESSION_EPOCH_KEY = "_auth_epoch"
SESSION_LOGIN_AT_KEY = "_auth_login_at"


def session_stamp(request, user):
    """Record in ``request.session`` the epoch ``user`` had at login and the time of login.

    Side effects: writes the two session keys."""
    request.session[SESSION_EPOCH_KEY] = user.session_epoch
    request.session[SESSION_LOGIN_AT_KEY] = int(time.time())


def session_is_stamped(session):
    return SESSION_EPOCH_KEY in session and SESSION_LOGIN_AT_KEY in session


def session_is_current(session, user):
    """False once ``user`` logged out elsewhere or changed the password since this session began."""
    return session.get(SESSION_EPOCH_KEY) == user.session_epoch


def session_is_too_old(session, now=None):
    """True once the session is older than ``settings.SESSION_ABSOLUTE_SECONDS``, active or not."""
    login_at = session.get(SESSION_LOGIN_AT_KEY)
    now = time.time() if now is None else now
    return login_at is None or now - login_at > settings.SESSION_ABSOLUTE_SECONDS


def sessions_end_all(*, user):
    """End every session of ``user`` (each is logged out at its next request).

    Side effects: increments ``user.session_epoch`` in the database (an ``F()`` update, so two
    concurrent logouts both count) and on the instance."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.session_epoch = User.objects.values_list("session_epoch", flat=True).get(pk=user.pk)


def password_changed(request, user):
    """The user changed their own password in this request: every other session ends, this one stays.

    Side effects: clears ``must_change_password``; increments the session epoch (``F()``); stores
    the new epoch in this session and re-keys it (``update_session_auth_hash``)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1, must_change_password=False)
    fresh = User.objects.values_list("session_epoch", flat=True).get(pk=user.pk)
    user.session_epoch, user.must_change_password = fresh, False
    request.session[SESSION_EPOCH_KEY] = fresh
    update_session_auth_hash(request, user)


def password_set_by_admin(user):
    """An administrator set ``user``'s password (a new account, or a reset): the user must change it
    at the next login, and every session the user had ends.

    For a new, unsaved user only the flag is set on the instance (the caller saves it). For an
    existing user the flag and the epoch are written with one ``F()`` update, so call this after
    the password itself has been saved. Demo accounts (``accounts.demo``) do not call it."""
    user.must_change_password = True
    if user.pk is None:
        return user
    User.objects.filter(pk=user.pk).update(must_change_password=True, session_epoch=F("session_epoch") + 1)
    user.session_epoch = User.objects.values_list("session_epoch", flat=True).get(pk=user.pk)
    return user
