from django.contrib import admin

from accounts import policy
from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log in the admin: read only, for the audit administrator (and a superuser)."""

    list_display = ["at", "username", "role", "action", "object_label", "result", "ip_address"]
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
