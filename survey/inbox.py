"""What waits for a user on their home page: returned to me, awaiting my review, overdue."""

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import policy
from accounts.models import Role, User
from registry.models import Region, RegionLevel
from survey.models import OPEN_STATES, Rectification, RectificationStatus, ReturnState, VillageReturn
from survey.progress import progress_by_child_region
from survey.services import active_campaign


def waiting_for(user):
    """A dict for the home page, or None when no campaign is running or the role has no part in it."""
    campaign = active_campaign()
    prefixes = policy.record_prefixes(user)
    if not prefixes:
        return None
    overdue_items = list(
        Rectification.objects.in_prefixes(prefixes).overdue().select_related("inspection__county")
        if policy.can_follow_supervision(user)
        else []
    )
    open_items = _open_items(prefixes) if user.role == Role.COUNTY_OFFICER else []
    if campaign is None:
        items = {"overdue_items": overdue_items, "open_items": open_items}
        return items if overdue_items or open_items else None
    returns = VillageReturn.objects.filter(campaign=campaign).in_prefixes(prefixes).select_related("village")
    inbox = {
        "campaign": campaign,
        "overdue": returns.overdue().count(),
        "overdue_items": overdue_items,
        "open_items": open_items,
    }
    if user.role == Role.VILLAGE_CADRE:
        inbox["my_return"] = returns.first()
    elif user.role == Role.TOWNSHIP_REVIEWER:
        inbox["to_review"] = list(returns.filter(state=ReturnState.SUBMITTED).order_by("submitted_at")[:20])
        # Villages without a cadre account: the township enters and submits for them (乡镇代报).
        cadre = User.objects.filter(role=Role.VILLAGE_CADRE, is_active=True, region=OuterRef("village"))
        without = returns.filter(state__in=OPEN_STATES).exclude(Exists(cadre)).order_by("village_code")
        inbox["on_behalf"] = list(without[:20])
        inbox["on_behalf_count"] = without.count()
    elif user.role == Role.COUNTY_OFFICER:
        county = Region.objects.get(code=user.region.code)
        townships = list(county.children.filter(level=RegionLevel.TOWNSHIP))
        rows = progress_by_child_region(campaign, county, townships, categories=())
        inbox["to_sign_off"] = [
            p.region
            for p in rows[1:]
            if p.total and p.approved == p.total and p.states[ReturnState.TOWNSHIP_APPROVED]
        ]
    return inbox


# An open rectification item this close to its deadline is marked 即将到期 on the county's home.
DUE_SOON_DAYS = 7


def _open_items(prefixes):
    """The county's rectification items still to put right and not yet overdue, soonest first, each
    with ``days_left`` and ``due_soon`` (the overdue ones are ``overdue_items``): shown from the day
    they are filed."""
    today = timezone.localdate()
    items = list(
        Rectification.objects.in_prefixes(prefixes)
        .filter(status=RectificationStatus.OPEN, deadline__gte=today)
        .select_related("inspection__county")
        .order_by("deadline", "pk")
    )
    for item in items:
        item.days_left = (item.deadline - today).days
        item.due_soon = item.days_left <= DUE_SOON_DAYS
    return items
