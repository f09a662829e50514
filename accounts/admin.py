"""The admin site, split by duty (三权分立, accounts.policy):

- the system administrator creates accounts, edits their names and contact details,
  deactivates them and resets passwords — never roles, regions, counties, superuser status,
  groups or permissions, and not the accounts of the other administrators;
- the security administrator sets role, region, assigned counties, organisation and whether an
  account is active — nothing else, never their own role, never a second admin duty;
- the audit administrator has no account pages at all (only the audit log, audit/admin.py).

Every change of role, region, counties, organisation or activity is an audit event
(accounts.services.user_access_record), and so is every other change of an account.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import Http404

from accounts import policy
from accounts.forms import AdminPasswordResetForm, UserAddForm
from accounts.models import Organisation, User
from accounts.services import access_snapshot, user_access_record
from audit.services import Action, audit_record


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "is_leading_office", "sort_order"]
    list_filter = ["kind", "is_leading_office"]
    search_fields = ["name", "region__name", "region__code"]
    autocomplete_fields = ["region"]
    list_select_related = ["region"]


ACCESS_FIELDS = ("role", "region", "assigned_regions", "organisation", "is_active")
ACCESS_SECTION = ("角色与管辖区划", {"fields": ("role", "region", "assigned_regions", "organisation")})

# The system administrator's view of an account: everything but what grants access.
SYSADMIN_FIELDSETS = (
    (None, {"fields": ("username", "password")}),
    ("个人信息", {"fields": ("last_name", "first_name", "email", "phone")}),
    ("状态", {"fields": ("is_active", "must_change_password")}),
    ACCESS_SECTION,
    ("重要日期", {"fields": ("last_login", "date_joined")}),
)
SYSADMIN_READONLY = ("role", "region", "assigned_regions", "organisation", "last_login", "date_joined")
SYSADMIN_ADD_FIELDSETS = DjangoUserAdmin.add_fieldsets + (
    ("个人信息", {"fields": ("last_name", "first_name", "phone")}),
)

# The security administrator's view: who it is (read only) and what it may do.
SECURITY_FIELDSETS = (
    (None, {"fields": ("username", "last_name", "first_name")}),
    ("状态", {"fields": ("is_active",)}),
    ACCESS_SECTION,
)
SECURITY_READONLY = ("username", "last_name", "first_name")

SUPERUSER_FIELDSETS = DjangoUserAdmin.fieldsets + (
    ("角色与管辖区划", {"fields": ("role", "region", "assigned_regions", "organisation", "phone")}),
)
SUPERUSER_ADD_FIELDSETS = DjangoUserAdmin.add_fieldsets + (
    ("角色与管辖区划", {"fields": ("role", "region", "organisation")}),
)


def _duty_checked(form_class, actor):
    """``form_class`` refusing what separation of duties forbids, whatever was posted."""

    class DutyCheckedForm(form_class):
        def clean(self):
            cleaned = super().clean()
            account = self.instance
            role = cleaned.get("role", account.role)
            if "role" in self.fields:
                refusal = policy.role_change_refusal(actor, account, role)
                if refusal:
                    self.add_error("role", refusal)
            if cleaned.get("is_superuser", account.is_superuser) and role:
                raise ValidationError("超级管理员账号不能再担任角色（一人不能兼任两种管理职责）。")
            if account.pk == actor.pk and cleaned.get("is_active") is False:
                self.add_error("is_active", "不能停用自己的账号。")
            return cleaned

    return DutyCheckedForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "role", "region", "organisation", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "region__name", "region__code"]
    autocomplete_fields = ["region", "organisation", "assigned_regions"]
    list_select_related = ["region", "organisation"]
    fieldsets = SUPERUSER_FIELDSETS
    add_fieldsets = SUPERUSER_ADD_FIELDSETS
    # A password set here (new account, reset) must be changed at first login (accounts.auth).
    add_form = UserAddForm
    change_password_form = AdminPasswordResetForm

    def get_fieldsets(self, request, obj=None):
        user = request.user
        if user.is_superuser:
            return super().get_fieldsets(request, obj)
        if obj is None:
            return SYSADMIN_ADD_FIELDSETS
        if policy.can_manage_account(user, obj):
            return SYSADMIN_FIELDSETS
        return SECURITY_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        user = request.user
        if user.is_superuser or obj is None:
            return ()
        if policy.can_manage_account(user, obj):
            return SYSADMIN_READONLY
        return SECURITY_READONLY

    def get_form(self, request, obj=None, **kwargs):
        return _duty_checked(super().get_form(request, obj, **kwargs), request.user)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        user = request.user
        return obj is None or policy.can_manage_account(user, obj) or policy.can_assign_roles(user)

    def has_delete_permission(self, request, obj=None):
        """Accounts are deactivated, never deleted: their audit events name them."""
        return False

    def user_change_password(self, request, id, form_url=""):
        """Resetting a password is the system administrator's (and not of another administrator)."""
        account = self.get_object(request, unquote(id))
        if account is None or not policy.can_manage_account(request.user, account):
            raise Http404
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        stored = User.objects.get(pk=obj.pk) if change else None
        request._audit_access_before = access_snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        account = form.instance
        user_access_record(user=account, before=request._audit_access_before, request=request)
        other = [
            str(form.fields[name].label)
            for name in form.changed_data
            if name not in ACCESS_FIELDS and name not in ("password", "password1", "password2")
        ]
        if change and other:
            audit_record(
                request=request, action=Action.ACCOUNT, obj=account, detail="修改：" + "、".join(other)
            )
