from django.contrib import admin

from accounts import policy
from audit.display import EventReader
from audit.models import AuditEvent

_reader = EventReader()


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log in the admin: read only, for the audit administrator (and a superuser);
    names, labels and details read through the same masks as the audit pages (audit.display)."""

    list_display = ["at", "shown_username", "role", "action", "shown_label", "result", "ip_address"]
    fields = readonly_fields = [
        "at",
        "shown_username",
        "role",
        "action",
        "object_type",
        "object_id",
        "shown_label",
        "result",
        "shown_detail",
        "row_count",
        "ip_address",
    ]
    list_filter = ["action", "result", "object_type"]
    search_fields = ["username", "object_label", "detail"]
    list_select_related = ["user"]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return policy.can_read_audit_log(request.user) or request.user.is_superuser

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="用户名")
    def shown_username(self, event):
        return _reader.username(event)

    @admin.display(description="对象")
    def shown_label(self, event):
        return _reader.label(event)

    @admin.display(description="说明")
    def shown_detail(self, event):
        return _reader.detail(event)
