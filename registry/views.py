from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts import policy
from registry import access
from registry.models import Region, RegionLevel, scope_roots, with_village_counts


def _follows_campaign(user):
    """Whether a screening campaign is running and ``user`` follows its progress.

    The survey keeps the running campaign's reference date on its region (Region's campaign
    facts); the progress itself is the survey's page (survey_progress_current), where
    区划与进度 leads: the registry neither imports the survey nor counts returns twice.
    """
    return bool(policy.record_prefixes(user)) and (
        Region.objects.filter(campaign_reference_date__isnull=False).exists()
    )


@require_GET
@login_required
def region_root(request):
    roots = scope_roots(request.user)
    if len(roots) == 1:
        root = roots[0]
        if root.level != RegionLevel.VILLAGE and _follows_campaign(request.user):
            return redirect("survey_progress_current", code=root.code)
        return redirect("region_detail", code=root.code)
    return render(
        request,
        "registry/region_list.html",
        {"regions": with_village_counts(roots), "progress": _follows_campaign(request.user)},
    )


@require_GET
@login_required
def region_detail(request, code):
    region = access.get_region_for_user(request.user, code)
    children = with_village_counts(region.children.all())
    visible_ancestors = Region.objects.visible_to(request.user).filter(
        pk__in=[a.pk for a in region.ancestors()]
    )
    return render(
        request,
        "registry/region_detail.html",
        {
            "region": region,
            "ancestors": list(visible_ancestors),
            "children": children,
            "progress": region.level != RegionLevel.VILLAGE and _follows_campaign(request.user),
        },
    )
