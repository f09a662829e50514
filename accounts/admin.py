"""The admin site, split by duty (三权分立, accounts.policy):

- the system administrator creates accounts, edits their names and contact details,
  deactivates them and asks for activation codes — never a password (a new account has none; a
  reset is a code in two halves that the security administrator must confirm, accounts/activation.py),
  never roles, regions, counties, superuser status, groups or permissions, and not the accounts
  of the other administrators;
- the security administrator sets role, region, assigned counties, organisation and whether an
  account is active — nothing else, never their own role, never a second admin duty;
- the audit administrator has no account pages at all (only the audit log, audit/admin.py).

Every change of role, region, counties, organisation or activity is an audit event
(accounts.services.user_access_record), and so is every other change of an account.

Nobody sees a second-factor device here: django-otp's TOTP device admin is unregistered (its pages
show the secret and its QR code). A lost phone is a reset: the owner enrols afresh with the code.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_totp import admin as otp_totp_admin  # noqa: F401 (registers first)
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import activation, policy
from accounts.forms import UserAddForm
from accounts.models import ActivationKind, Organisation, User
from accounts.services import access_snapshot, user_access_record
from audit.services import Action, audit_record

# The device pages show the TOTP secret (change, config, QR code): no administrator may see them.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


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
# No password: the owner sets one with an activation code (accounts/activation.py).
SYSADMIN_ADD_FIELDSETS = (
    (None, {"fields": ("username",)}),
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
SUPERUSER_ADD_FIELDSETS = SYSADMIN_ADD_FIELDSETS + (
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
            refusal = policy.superuser_role_refusal(cleaned.get("is_superuser", account.is_superuser), role)
            if refusal:
                raise ValidationError(refusal)
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
    # No password is ever set here: a new account is activated by its owner with a code.
    add_form = UserAddForm

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
        """Nobody sets another person's password: the admin's 重置密码 button leads to asking for an
        activation code (one's own password: the 修改密码 page)."""
        account = self.get_object(request, unquote(id))
        if account is not None and account.pk == request.user.pk:
            return HttpResponseRedirect(reverse("password_change"))
        if account is None or not policy.can_request_activation(request.user, account):
            raise Http404
        return HttpResponseRedirect(reverse("activation_request", args=[account.pk]))

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
        if not change:
            asked, half = activation.activation_request(
                account=account, requested_by=request.user, kind=ActivationKind.NEW_ACCOUNT, reason="新建账号"
            )
            activation.remember_half(request, asked, half)
            request._activation_asked = asked

    def response_add(self, request, obj, post_url_continue=None):
        """After a new account: the page with the first half of its activation code (shown once)."""
        asked = getattr(request, "_activation_asked", None)
        if asked is None:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(reverse("activation_detail", args=[asked.pk]))
