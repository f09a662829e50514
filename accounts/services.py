"""Writes to accounts go through these functions (STYLE §5)."""

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction

from accounts.models import Organisation, OrganisationKind, Role, User

MEMBER_UNITS_FILE = Path(settings.BASE_DIR) / "fixtures" / "member_units.json"
LEADING_OFFICE = "市民政局"

# What a system administrator may do in the admin: accounts, organisations, regions and
# lock-outs. No permission on any record of personal data.
SYSADMIN_PERMISSIONS = [
    ("accounts", "user", ("add", "change", "view")),
    ("accounts", "organisation", ("add", "change", "view")),
    ("registry", "region", ("add", "change", "view")),
    ("axes", "accessattempt", ("view", "delete")),
]


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
                "kind": OrganisationKind.MEMBER_UNIT,
                "duty": unit["duty"],
                "sort_order": order,
                "is_leading_office": unit["name"] == LEADING_OFFICE,
            },
        )
    return len(units)


def sysadmin_grant_permissions(*, user):
    """Give a system administrator the admin permissions of SYSADMIN_PERMISSIONS, and staff access."""
    perms = []
    for app_label, model, actions in SYSADMIN_PERMISSIONS:
        codenames = [f"{action}_{model}" for action in actions]
        perms += Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(perms)


@transaction.atomic
def user_upsert(*, username, role, region, password, name="", organisation=None, assigned_regions=()):
    """Create or update an account bound to ``role`` and ``region``; validated before saving.

    Side effects: sets the password; a system administrator gets staff access and the admin
    permissions of SYSADMIN_PERMISSIONS; a supervisor's assigned counties are replaced.
    """
    user = User.objects.filter(username=username).first() or User(username=username)
    user.role = role
    user.region = region
    user.organisation = organisation
    user.last_name, user.first_name = name[:1], name[1:]
    user.is_active = True
    user.set_password(password)
    user.full_clean()
    user.save()
    user.assigned_regions.set(assigned_regions)
    if role == Role.SYSADMIN:
        sysadmin_grant_permissions(user=user)
    return user
