from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from registry import access
from registry.models import Region, scope_roots, with_village_counts


@require_GET
@login_required
def region_root(request):
    roots = scope_roots(request.user)
    if len(roots) == 1:
        return redirect("region_detail", code=roots[0].code)
    return render(request, "registry/region_list.html", {"regions": with_village_counts(roots)})


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
        },
    )
