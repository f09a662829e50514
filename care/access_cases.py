"""Access helpers of reports, cases and referrals (STYLE item 3): the object with what the user may do
with it; 404 outside the user's scope, whether or not the object exists."""

from dataclasses import dataclass

from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts import policy
from accounts.models import Role
from care import workflows
from care.models import Case, Referral
from registry.models import Child, Region, RegionLevel


@dataclass(frozen=True)
class CaseRights:
    read: bool  # may read what the case says (policy.can_read_case); else only that it exists
    handle: bool  # may dispose, assess, plan (policy.can_handle_case)
    refer: bool  # may refer a need of the case's child (policy.can_refer, on a readable case)
    transitions: list  # the CASE rows the user may take now


def get_case_for_user(user, pk):
    """(Case with its child and village, CaseRights) if ``user`` may see that the case exists
    (policy.case_prefixes); 404 otherwise."""
    case = get_object_or_404(
        Case.objects.in_prefixes(policy.case_prefixes(user)).select_related(
            "child", "child__village", "village", "reported_by"
        ),
        pk=pk,
    )
    read = policy.can_read_case(user, case)
    return case, CaseRights(
        read=read,
        handle=read and policy.can_handle_case(user, case),
        refer=read and case.child_id is not None and policy.can_refer(user, case.child),
        transitions=workflows.CASE.allowed(user, case) if read else [],
    )


def report_prefixes(user):
    """Prefixes of the villages ``user`` may report a child in (policy.can_open_report): those who
    read records there — the civil-affairs line, the supervisors and the member units' liaisons."""
    return policy.record_prefixes(user)


def report_villages(user):
    return Region.objects.at_level(RegionLevel.VILLAGE).in_prefixes(report_prefixes(user)).order_by("code")


def get_report_child(user, pk):
    """The registered child ``user`` may report (in a village of their reporting scope); 404 otherwise."""
    return get_object_or_404(
        Child.objects.in_prefixes(report_prefixes(user)).select_related("village"), pk=pk
    )


def referrals_for(user):
    """Referrals ``user`` may open: those addressed to a liaison's own unit; for the civil-affairs
    line, those of the children whose care they follow (not those of an abuse case they may not
    read: a referral names the need)."""
    if policy.has_role(user, Role.LIAISON):
        if not user.organisation_id:
            return Referral.objects.none()
        return Referral.objects.filter(unit_id=user.organisation_id).in_prefixes(policy.scope_prefixes(user))
    prefixes = policy.care_prefixes(user)
    queryset = Referral.objects.in_prefixes(prefixes)
    if not policy.has_role(user, Role.COUNTY_OFFICER, Role.CITY_OFFICE):
        queryset = queryset.exclude(Q(case__sensitive=True))
    return queryset


def get_referral_for_user(user, pk):
    """The referral (with child, village, unit and case) if ``user`` may open it; 404 otherwise."""
    return get_object_or_404(
        referrals_for(user).select_related("child", "child__village", "unit", "case", "referred_by"), pk=pk
    )
