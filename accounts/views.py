from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import policy
from accounts.models import Organisation, Role, User
from registry.models import Region, RegionLevel, scope_roots, with_village_counts
from registry.views_records import high_risk_children
from survey.inbox import waiting_for


@require_GET
@login_required
def home(request):
    """Each role's own home page: its scope and, as features land, what waits for it."""
    user = request.user
    context = {"role": user.role, "Role": Role}
    if policy.is_system_admin(user):
        context["totals"] = {
            "users": User.objects.count(),
            "organisations": Organisation.objects.count(),
            "regions": Region.objects.count(),
            "villages": Region.objects.at_level(RegionLevel.VILLAGE).count(),
        }
    else:
        roots = scope_roots(user)
        rows = []
        for root in roots:
            rows.append((root, with_village_counts(root.children.all())))
        context["scopes"] = rows
        context["high_risk"] = high_risk_children(user)
        context["inbox"] = waiting_for(user)
        context["can_enter"] = bool(policy.edit_prefixes(user))
    return render(request, "accounts/home.html", context)
