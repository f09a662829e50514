"""Writes to accounts go through these functions (STYLE §5)."""

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import policy
from accounts.models import ADMIN_ROLES, Organisation, OrganisationKind, Role, User
from audit.services import Action, audit_record

MEMBER_UNITS_FILE = Path(settings.BASE_DIR) / "fixtures" / "member_units.json"
LEADING_OFFICE = "市民政局"

# What each administrator may do in the admin (三权分立); no permission on any record of
# personal data for any of them, and none for the other roles. Which fields of an account each
# may change is decided in accounts/admin.py from accounts.policy.
ROLE_PERMISSIONS = {
    # Accounts (create, deactivate, ask for activation codes — not roles, never a password),
    # organisations, regions. No second-factor device: a lost phone is a reset (accounts/activation.py).
    Role.SYSADMIN: [
        ("accounts", "user", ("add", "change", "view")),
        ("accounts", "organisation", ("add", "change", "view")),
        ("registry", "region", ("add", "change", "view")),
        # The risk levels' names and visit intervals (care/admin.py).
        ("care", "risklevel", ("change", "view")),
        ("care", "casedeadline", ("change", "view")),
    ],
    # Roles, regions, assigned counties, organisation and activity of accounts; regions and
    # organisations only to choose them.
    Role.SECURITY_ADMIN: [
        ("accounts", "user", ("change", "view")),
        ("accounts", "organisation", ("view",)),
        ("registry", "region", ("view",)),
        # Failed logins: see them and release a lock-out (config/admin.py, in the audit log).
        ("axes", "accessattempt", ("view", "delete")),
    ],
    # The audit log, read only.
    Role.AUDIT_ADMIN: [("audit", "auditevent", ("view",))],
}
SYSADMIN_PERMISSIONS = ROLE_PERMISSIONS[Role.SYSADMIN]


@transaction.atomic
def organisations_seed_member_units(*, city):
    """Create or update the leading group's member units of ``city`` from fixtures/member_units.json.

    Side effects: one Organisation per unit (kind member_unit, region = city); the civil
    affairs bureau is marked as the leading office. Names and duties already there are updated.
    """
    units = json.loads(MEMBER_UNITS_FILE.read_text(encoding="utf-8"))
    for order, unit in enumerate(units, start=1):
        Organisation.objects.update_or_create(
            name=unit["name"],
            region=city,
            defaults={
                "code": unit["code"],
                "kind": OrganisationKind.MEMBER_UNIT,
                "duty": unit["duty"],
                "sort_order": order,
                "is_leading_office": unit["name"] == LEADING_OFFICE,
            },
        )
    return len(units)


def role_permissions_apply(*, user):
    """Give ``user`` exactly the admin permissions of their role (ROLE_PERMISSIONS), none for the
    other roles, and no groups; the three administrators get staff access. (Staff access of other
    roles is not decided here: county and city officers may use the admin's roster import.)"""
    perms = []
    for app_label, model, actions in ROLE_PERMISSIONS.get(user.role, ()):
        codenames = [f"{action}_{model}" for action in actions]
        perms += Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    if user.role in ADMIN_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.user_permissions.set(perms)
    user.groups.clear()


def sysadmin_grant_permissions(*, user):
    """Give a system administrator the admin permissions of its role (kept for callers)."""
    role_permissions_apply(user=user)


def access_snapshot(user):
    """What decides what ``user`` may do: role, region, assigned counties, organisation, activity."""
    if user.pk is None:
        return None
    return {
        "角色": user.get_role_display() or "（无）",
        "管辖区划": str(user.region) if user.region_id else "—",
        "督导负责县（区）": "、".join(sorted(r.name for r in user.assigned_regions.all())) or "—",
        "所在单位": str(user.organisation) if user.organisation_id else "—",
        "启用": "是" if user.is_active else "否",
    }


def user_access_record(*, user, before, request=None):
    """After a change of ``user``'s role, region, counties, organisation or activity: apply the
    role's permissions and append a 角色变更 event naming each change (``before`` is the
    ``access_snapshot`` taken before it; None for a new account: its event says what it was
    given, 账号管理 if no role yet). No event if nothing changed."""
    after = access_snapshot(user)
    role_permissions_apply(user=user)
    if before is None:
        detail = "新建账号：" + "；".join(f"{k}：{v}" for k, v in after.items())
        action = Action.ROLE_CHANGE if user.role else Action.ACCOUNT
        return audit_record(request=request, action=action, obj=user, detail=detail)
    changes = [f"{k}：{before[k]} → {after[k]}" for k in after if before[k] != after[k]]
    if not changes:
        return None
    return audit_record(request=request, action=Action.ROLE_CHANGE, obj=user, detail="；".join(changes))


@transaction.atomic
def user_upsert(*, username, role, region, password, name="", organisation=None, assigned_regions=()):
    """Create or update an account bound to ``role`` and ``region``; validated before saving.

    Side effects: sets the password; the role's admin permissions (ROLE_PERMISSIONS) and staff
    access for an administrator, none for others; a supervisor's assigned counties are replaced;
    a 角色变更 audit event when the role, region, counties, organisation or activity changed.
    A superuser cannot take a role (三权分立: nobody holds two duties).
    """
    user = User.objects.filter(username=username).first() or User(username=username)
    refusal = policy.superuser_role_refusal(user.is_superuser, role)
    if refusal:
        raise ValidationError({"role": refusal})
    before = access_snapshot(user)
    user.role = role
    user.region = region
    user.organisation = organisation
    user.last_name, user.first_name = name[:1], name[1:]
    user.is_active = True
    user.set_password(password)
    user.full_clean()
    user.save()
    user.assigned_regions.set(assigned_regions)
    user_access_record(user=user, before=before)
    return user
