"""django-axes' failed-login records in the admin, in Chinese, for the security administrator.

django-axes' own admin pages are off (settings.AXES_ENABLE_ADMIN): releasing a lock-out here goes
through accounts.lockouts.login_lockouts_release, so that every release is in the audit log.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from accounts import policy
from accounts.lockouts import login_lockouts_release


@admin.register(AccessAttempt)
class LoginLockoutAdmin(admin.ModelAdmin):
    """Failed logins per account name and address, whether they lock it, and their release.

    Deleting a record releases its lock-out; nothing here is added or changed.
    """

    list_display = [
        "username",
        "ip_address",
        "failures_since_start",
        "name_failures",
        "attempt_time",
        "state",
    ]
    search_fields = ["username", "ip_address"]
    fields = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent", "path_info"]
    readonly_fields = fields
    actions = ["release_selected", "release_names"]
    ordering = ["-attempt_time"]

    def get_queryset(self, request):
        totals = (
            AccessAttempt.objects.filter(username=OuterRef("username"), attempt_time__gte=_since())
            .order_by()
            .values("username")
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        return super().get_queryset(request).annotate(name_total=Subquery(totals))

    @admin.display(description="该账号各地址合计")
    def name_failures(self, obj):
        return obj.name_total or 0

    @admin.display(description="状态")
    def state(self, obj):
        if obj.attempt_time < _since():
            return "已过期（不再锁定）"
        if (obj.name_total or 0) >= settings.AXES_USERNAME_FAILURE_LIMIT:
            return "已锁定（所有地址）"
        if obj.failures_since_start >= settings.AXES_FAILURE_LIMIT:
            return "已锁定（此地址）"
        return f"未锁定（此地址还可试 {settings.AXES_FAILURE_LIMIT - obj.failures_since_start} 次）"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="解除所选记录的登录锁定", permissions=["delete"])
    def release_selected(self, request, queryset):
        count = login_lockouts_release(attempts=queryset, request=request)
        self.message_user(request, f"已解除 {count} 条登录锁定，并记入审计日志。", messages.SUCCESS)

    @admin.action(description="解除所选账号在所有地址的登录锁定", permissions=["delete"])
    def release_names(self, request, queryset):
        names = {attempt.username for attempt in queryset}
        attempts = AccessAttempt.objects.filter(username__in=names)
        count = login_lockouts_release(attempts=attempts, request=request)
        self.message_user(request, f"已解除 {count} 条登录锁定，并记入审计日志。", messages.SUCCESS)

    def delete_model(self, request, obj):
        login_lockouts_release(attempts=[obj], request=request)

    def delete_queryset(self, request, queryset):
        login_lockouts_release(attempts=queryset, request=request)

    def has_module_permission(self, request):
        return policy.can_release_lockouts(request.user)

    def has_view_permission(self, request, obj=None):
        return policy.can_release_lockouts(request.user)

    def has_delete_permission(self, request, obj=None):
        return policy.can_release_lockouts(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _since():
    """Failures older than this no longer count (AXES_COOLOFF_TIME)."""
    return timezone.now() - settings.AXES_COOLOFF_TIME
