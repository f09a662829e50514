"""What the registry puts first on a user's home page (accounts.views.home composes these)."""

from accounts import policy
from accounts.models import Role
from registry.access import may_enter_records
from registry.models import Child, scope_roots, with_village_counts


def high_risk_children(user, limit=10):
    """The newest high-risk children a township, county or city user should see first."""
    if not policy.record_prefixes(user) or policy.has_role(user, Role.VILLAGE_CADRE):
        return None
    queryset = Child.objects.visible_to(user).active().high_risk()
    return {
        "count": queryset.count(),
        "items": list(queryset.select_related("village").order_by("-created_at")[:limit]),
    }


def home_context(user):
    """The user's scope (each root with its ``village_count``) with its regions below, the high-risk
    children, and whether to offer entry (not to a cadre whose village's records are locked:
    ``locked_village`` says why instead)."""
    roots = with_village_counts(scope_roots(user))
    scopes = [(root, with_village_counts(root.children.all())) for root in roots]
    can_enter = may_enter_records(user)
    locked = policy.bound_by_record_locks(user) and not can_enter and bool(policy.edit_prefixes(user))
    return {
        "scopes": scopes,
        "high_risk": high_risk_children(user),
        "can_enter": can_enter,
        "locked_village": user.region if locked else None,
    }
