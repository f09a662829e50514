"""Login lock-outs (django-axes) and their release by the security administrator.

django-axes counts failed logins per account name *and* address (settings.AXES_LOCKOUT_PARAMETERS):
five from one address lock that name at that address only, so nobody elsewhere can lock the city
office out by typing its name. A guess spread over many addresses is stopped by a second, higher
count: AXES_USERNAME_FAILURE_LIMIT failures of one name from all addresses together lock the name
everywhere. django-axes takes one failure limit, so the handler below reports such a name as at
that limit; both counts cover the same cool-off (AXES_COOLOFF_TIME). The reasons for the numbers
are in config/settings.py.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.shortcuts import render

from accounts import otp
from accounts.models import User
from audit.services import Action, audit_record


def username_failures(username, *, since):
    """Failed logins of ``username`` from every address since ``since``."""
    if not username:
        return 0
    attempts = AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with the per-name count across addresses added."""

    def get_failures(self, request, credentials=None):
        """Failures of this name from this address; at least the failure limit when the name has
        failed AXES_USERNAME_FAILURE_LIMIT times from all addresses together."""
        failures = super().get_failures(request, credentials)
        username = get_client_username(request, credentials)
        since = get_cool_off_threshold(request)
        if username_failures(username, since=since) >= settings.AXES_USERNAME_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures


def lockout_response(request, original_response=None, credentials=None):
    """The page of a locked-out login (429): how long, and whom to ask (the security administrator).
    The same for every name, known or not."""
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": otp.lock_minutes()}, status=429)


@transaction.atomic
def login_lockouts_release(*, attempts, request=None):
    """Release the lock-outs held by ``attempts`` (AccessAttempt rows): they are deleted, so the
    names may log in again from those addresses at once. Returns how many were released.

    Side effects: one audit event per record (账号管理, "解除登录锁定", the address and the count),
    naming the account when the name is one.
    """
    attempts = list(attempts)
    accounts = User.objects.in_bulk([a.username for a in attempts if a.username], field_name="username")
    for attempt in attempts:
        account = accounts.get(attempt.username)
        if account is not None:
            target = {"obj": account}
        else:
            target = {"object_type": "axes.accessattempt", "object_id": attempt.pk}
            target["object_label"] = attempt.username or ""
        address = attempt.ip_address or "未知"
        audit_record(
            request=request,
            action=Action.ACCOUNT,
            detail=f"解除登录锁定：来源地址 {address}，失败 {attempt.failures_since_start} 次",
            **target,
        )
    AccessAttempt.objects.filter(pk__in=[a.pk for a in attempts]).delete()
    return len(attempts)
