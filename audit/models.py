"""The audit log (issue 6 §1, §3): one append-only table every app writes and none may edit.

This app imports none of the project's apps (they all write to it), so objects are named by
their model label and primary key rather than by foreign keys. Append-only twice over: the
model and its queryset refuse updates and deletes, and database triggers (migration 0002)
refuse them to raw SQL too; only ``purge_audit`` may delete events older than the retention.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone

APPEND_ONLY_MESSAGE = "审计日志只能追加，不能修改或删除。"
# The shortest retention the law allows (网络安全法 第二十一条: 不少于六个月); the database
# triggers refuse to delete younger events whatever the settings say.
MIN_RETENTION_DAYS = 180


class AppendOnly(PermissionDenied):
    def __init__(self):
        super().__init__(APPEND_ONLY_MESSAGE)


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly()

    def delete(self):
        raise AppendOnly()

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnly()

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        raise AppendOnly()


class AuditEvent(models.Model):
    """Who did what to which object, when, from where, and how it ended."""

    class Action(models.TextChoices):
        LOGIN = "login", "登录"
        LOGIN_FAILED = "login_failed", "登录失败"
        LOGOUT = "logout", "退出"
        VIEW = "view", "查看"
        LIST = "list", "列表"
        HISTORY = "history", "查看历史"
        EXPORT = "export", "导出"
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        STATUS = "status", "状态变更（退出/恢复）"
        IMPORT = "import", "导入"
        WORKFLOW = "workflow", "流程操作"
        ROLE_CHANGE = "role_change", "角色变更"
        ACCOUNT = "account", "账号管理"
        PASSWORD_CHANGE = "password_change", "密码修改"
        PURGE = "purge", "清理过期日志"

    class Result(models.TextChoices):
        SUCCESS = "success", "成功"
        FAILURE = "failure", "失败"
        DENIED = "denied", "拒绝"

    at = models.DateTimeField("时间", default=timezone.now, editable=False)
    # PROTECT: an account with events is deactivated, never deleted (the log keeps its name too).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    username = models.CharField("用户名", max_length=150, blank=True)
    role = models.CharField("角色", max_length=20, blank=True)
    action = models.CharField("操作", max_length=20, choices=Action.choices)
    object_type = models.CharField(
        "对象类型", max_length=60, blank=True, help_text="模型标识，如 registry.child。"
    )
    object_id = models.BigIntegerField("对象编号", null=True, blank=True)
    object_label = models.CharField("对象", max_length=100, blank=True)
    result = models.CharField("结果", max_length=10, choices=Result.choices, default=Result.SUCCESS)
    detail = models.CharField("说明", max_length=500, blank=True)
    row_count = models.PositiveIntegerField("条数", null=True, blank=True)
    ip_address = models.GenericIPAddressField("来源地址", null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at"),
            models.Index(fields=["user", "-at"], name="audit_user_at"),
            models.Index(fields=["username", "-at"], name="audit_username_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self):
        # The object by type and number, never by its stored label (which may name a person).
        target = f"{self.object_type}#{self.object_id}" if self.object_id is not None else self.object_type
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '—'} {self.get_action_display()} {target}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly()
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly()
