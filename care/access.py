"""The care loop's access helpers (STYLE item 3): a child's care with what the user may do with it;
404 outside the user's care scope, whether or not the child exists."""

from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from accounts import policy
from care.models import ChildCare, Visit
from registry.models import Region


@dataclass(frozen=True)
class CareRights:
    record_visit: bool  # may record (and correct) a visit now (policy.can_record_visit)
    override: bool  # may raise or lower the level (policy.can_override_level)


def get_care_for_user(user, child_pk):
    """(ChildCare with child and village, CareRights) if ``user`` follows the child's care; else 404."""
    care = get_object_or_404(
        ChildCare.objects.in_prefixes(policy.care_prefixes(user)).select_related("child", "child__village"),
        child_id=child_pk,
    )
    return care, CareRights(
        record_visit=policy.can_record_visit(user, care.child),
        override=policy.can_override_level(user, care.child),
    )


def get_visit_for_user(user, pk):
    """The visit (with its child) if ``user`` follows that child's care; 404 otherwise."""
    return get_object_or_404(
        Visit.objects.in_prefixes(policy.care_prefixes(user)).select_related("child", "recorded_by"), pk=pk
    )


def get_care_region_for_user(user, code):
    """The region with ``code`` if ``user`` may follow care there; 404 otherwise."""
    return get_object_or_404(Region.objects.in_prefixes(policy.care_prefixes(user)), code=code)
