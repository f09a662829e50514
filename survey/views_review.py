"""Review pages that lead from a campaign's figures to the records behind them."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from registry.access import get_region_for_user
from registry.choices import Category
from registry.models import Child
from registry.records import access_log_write
from survey import access
from survey.duplicates import LIMIT, duplicate_groups


@require_GET
@login_required
def duplicate_pairs(request, pk, code):
    """The children of ``code`` registered twice, as suspected (same name and birth date), each
    linking to their record; 404 outside the user's scope. Logged as a list of personal data."""
    campaign = access.get_campaign_for_user(request.user, pk)
    region = get_region_for_user(request.user, code)
    groups, more = duplicate_groups(Child.objects.visible_to(request.user).in_region(region).active())
    people = sum(len(records) for _, _, records in groups)
    access_log_write(
        request,
        AuditEvent.Action.LIST,
        Category.CHILD,
        count=people,
        detail=f"疑似重复登记（{region.name}，{people} 人）",
    )
    return render(
        request,
        "survey/duplicates.html",
        {
            "campaign": campaign,
            "region": region,
            "groups": groups,
            "people": people,
            "more": more,
            "limit": LIMIT,
        },
    )
