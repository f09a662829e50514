from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "is_leading_office", "sort_order"]
    list_filter = ["kind", "is_leading_office"]
    search_fields = ["name", "region__name", "region__code"]
    autocomplete_fields = ["region"]
    list_select_related = ["region"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "role", "region", "organisation", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "region__name", "region__code"]
    autocomplete_fields = ["region", "organisation", "assigned_regions"]
    list_select_related = ["region", "organisation"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("角色与管辖区划", {"fields": ("role", "region", "assigned_regions", "organisation", "phone")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("角色与管辖区划", {"fields": ("role", "region", "organisation")}),
    )
