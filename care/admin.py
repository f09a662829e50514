"""The risk levels in the admin: the system administrator edits their names, meanings and visit
intervals (care.RiskLevel is data, DESIGN §7). Four fixed ranks: none is added or deleted."""

from django.contrib import admin

from care.models import CaseDeadline, RiskLevel


@admin.register(RiskLevel)
class RiskLevelAdmin(admin.ModelAdmin):
    list_display = ["rank", "name", "colour", "meaning", "visit_interval_days"]
    list_display_links = ["name"]
    ordering = ["rank"]
    readonly_fields = ["rank"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CaseDeadline)
class CaseDeadlineAdmin(admin.ModelAdmin):
    """The hours each step of a case may take (care.rules.DEFAULT_CASE_HOURS are the defaults)."""

    list_display = ["step", "hours"]
    readonly_fields = ["step"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
