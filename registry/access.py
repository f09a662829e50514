"""The registry's access helpers (STYLE item 3): each returns the object together with what the
user may do with it, so views and templates never re-derive rights. Outside a user's scope an
object is a 404, whether or not it exists. Every answer comes from accounts.policy.
"""

from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from accounts import policy
from registry.models import Region
from registry.records import villages_editable_by


@dataclass(frozen=True)
class RecordRights:
    edit: bool  # may change it now (policy.can_edit_record)
    locked: bool  # its village's records are locked against this user (an approved return)
    masked: bool  # sees ID and phone numbers masked (a liaison)


def get_region_for_user(user, code):
    """The region with ``code`` if ``user`` may see it; 404 otherwise, whether or not it exists."""
    return get_object_or_404(Region.objects.visible_to(user), code=code)


def get_record_for_user(user, model, pk):
    """(record, RecordRights) if ``user`` may read the record; 404 otherwise."""
    record = get_object_or_404(model.objects.visible_to(user).select_related("village"), pk=pk)
    return record, RecordRights(
        edit=policy.can_edit_record(user, record),
        locked=policy.records_locked_against(user, record.village),
        masked=policy.sees_masked_records(user),
    )


def may_enter_records(user):
    """May ``user`` register a record anywhere now: an editor with a village not locked against them
    (a cadre whose village's return is approved may not, until it is reopened)."""
    if not policy.edit_prefixes(user):
        return False
    villages = villages_editable_by(user)
    if policy.bound_by_record_locks(user):
        villages = villages.filter(records_locked=False)
    return villages.exists()
