"""Campaign, return and progress pages. Thin: services decide, the policy is asked."""

from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from registry.access import get_region_for_user
from registry.choices import Category
from registry.codes import ancestor_code
from registry.export import XLSX
from registry.models import Region, RegionLevel, scope_roots
from survey import access, charts, export, services, workflows
from survey.forms import CampaignForm
from survey.models import Campaign, CampaignStatus
from survey.progress import progress_by_child_region, timeline
from survey.statistics import COLUMNS, QUALITY, children_statistics, duplicate_suspects, people_tables


@require_http_methods(["GET", "POST"])
@login_required
def campaign_list(request):
    if not policy.record_prefixes(request.user):
        raise Http404
    form = CampaignForm(request.POST or None) if policy.can_run_campaigns(request.user) else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                campaign = services.campaign_create(
                    user=request.user, region=request.user.region, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"已创建：{campaign.name}（草稿），确认无误后请启动。")
                return redirect("campaign_list")
    campaigns = Campaign.objects.select_related("region").order_by("-start_date")
    return render(request, "survey/campaign_list.html", {"campaigns": campaigns, "form": form})


@require_POST
@login_required
def campaign_change(request, pk, action):
    campaign = access.get_campaign_for_user(request.user, pk)
    change = {"start": services.campaign_start, "close": services.campaign_close}[action]
    try:
        change(user=request.user, campaign=campaign)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"{campaign.name}：已{'启动' if action == 'start' else '结束'}。")
    return redirect("campaign_list")


@require_GET
@login_required
def progress(request, pk, code=None):
    """City → county → township → village drill-down of a campaign's progress."""
    campaign = access.get_campaign_for_user(request.user, pk)
    if code is None:
        region = campaign.region if policy.can_see_region(request.user, campaign.region) else None
        if region is None:
            return redirect("survey_progress_region", pk=pk, code=scope_roots(request.user)[0].code)
    else:
        region = get_region_for_user(request.user, code)
    children = list(region.children.order_by("code"))
    # Children are counted by the statistics below; women and elders here.
    rows = progress_by_child_region(campaign, region, children, categories=(Category.WOMAN, Category.ELDER))
    whole = rows[0]
    stats = children_statistics(region, children, campaign.reference_date)
    for row in rows:
        total = stats[None if row is whole else row.region.pk]["total"]
        if total:
            row.records[Category.CHILD.value] = total
    table = [(whole.region.name + "（合计）", stats[None])] + [(c.name, stats[c.pk]) for c in children]
    return render(
        request,
        "survey/progress.html",
        {
            "campaign": campaign,
            "region": region,
            "whole": whole,
            "rows": rows[1:],
            "bars": charts.completion_bars(rows[1:]) if region.level != RegionLevel.TOWNSHIP else None,
            "lines": charts.timeline_lines(timeline(campaign, region), whole.total),
            "ancestors": Region.objects.visible_to(request.user).filter(
                pk__in=[a.pk for a in region.ancestors()]
            ),
            "is_township": region.level == RegionLevel.TOWNSHIP,
            "columns": COLUMNS + QUALITY,
            "table": [(label, [row[key] for key, _ in COLUMNS + QUALITY]) for label, row in table],
            "people_tables": people_tables(region, children, campaign.reference_date),
            "exportable": region.level in (RegionLevel.CITY, RegionLevel.COUNTY),
            "can_sign_off": region.level == RegionLevel.COUNTY
            and policy.can_approve_townships(request.user, region),
        },
    )


@require_GET
@login_required
def return_detail(request, pk):
    ret = access.get_return_for_user(request.user, pk)
    allowed = workflows.RETURN.allowed(request.user, ret)
    # County sign-off is of a whole township, on the county's progress page: linked, not a button.
    transitions = [row for row in allowed if row.action in RETURN_ACTIONS]
    sign_off = any(row.action == "county_approve" for row in allowed)
    return render(
        request,
        "survey/return_detail.html",
        {
            "ret": ret,
            "events": ret.events.select_related("actor"),
            "live": services.live_counts(ret.campaign, ret.village),
            "differences": services.snapshot_differences(ret),
            "transitions": transitions,
            "county": ancestor_code(ret.village_code, "county"),
            "sign_off": sign_off,
            "on_behalf_hint": any(row.action == "submit" for row in transitions)
            and not policy.is_village_cadre_of(request.user, ret.village),
            "registers": _village_registers(request.user, ret.village),
        },
    )


# Each count of a return links to its register's list, filtered to the village (registry.filters).
REGISTERS = {Category.CHILD: "children", Category.WOMAN: "women", Category.ELDER: "elders"}


def _village_registers(user, village):
    """{category value: the register list of ``village``'s records of that category}, with the
    township chosen too for those who see more than one village (the list offers a township's
    villages only once its township is chosen)."""
    above_village = any(len(prefix) < len(village.prefix) for prefix in policy.record_prefixes(user))
    query = urlencode(
        {"township": village.parent_id, "village": village.pk} if above_village else {"village": village.pk}
    )
    return {
        category.value: f"{reverse('record_list', kwargs={'kind': kind})}?{query}"
        for category, kind in REGISTERS.items()
    }


# The table's actions that a return's page posts (survey.workflows.RETURN); county sign-off of a
# whole township is its own page (township_sign_off).
RETURN_ACTIONS = {
    "start": lambda user, ret, reason: services.village_return_start(user=user, village_return=ret),
    "submit": lambda user, ret, reason: services.village_return_submit(user=user, village_return=ret),
    "submit_zero": lambda user, ret, reason: services.village_return_submit(
        user=user, village_return=ret, zero=True
    ),
    "send_back": lambda user, ret, reason: services.village_return_send_back(
        user=user, village_return=ret, reason=reason
    ),
    "approve": lambda user, ret, reason: services.village_return_approve(user=user, village_return=ret),
    "reopen": lambda user, ret, reason: services.village_return_reopen(
        user=user, village_return=ret, reason=reason
    ),
}


@require_POST
@login_required
def return_action(request, pk, action):
    ret = access.get_return_for_user(request.user, pk)
    if action not in RETURN_ACTIONS:
        raise Http404
    try:
        ret = RETURN_ACTIONS[action](request.user, ret, request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"{ret.village.name}：报表现为「{ret.get_state_display()}」。")
    return _back(request, "survey_return", pk=pk)


@require_POST
@login_required
def township_sign_off(request, pk, code):
    campaign = access.get_campaign_for_user(request.user, pk)
    township = get_region_for_user(request.user, code)
    try:
        n = services.township_approve(user=request.user, campaign=campaign, township=township)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"{township.name}：{n} 个村（社区）县级审核通过。")
    return _back(request, "survey_progress_region", pk=pk, code=ancestor_code(township.code, "county"))


def _back(request, fallback, **kwargs):
    """Back to the page the form was on (``next``, if it is one of ours), else ``fallback``."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback, **kwargs)


@require_GET
@login_required
def statistics_export(request, pk, code):
    """The 统计表 xlsx of a city (counties and townships) or a county (townships), if it adds up."""
    campaign = access.get_campaign_for_user(request.user, pk)
    region = get_region_for_user(request.user, code)
    if not policy.can_view_statistics(request.user, region) or region.level not in (
        RegionLevel.CITY,
        RegionLevel.COUNTY,
    ):
        raise Http404
    children = list(region.children.order_by("code"))
    grandchildren = []
    if region.level == RegionLevel.CITY:
        grandchildren = list(Region.objects.in_region(region).at_level(RegionLevel.TOWNSHIP).order_by("code"))
    top = children_statistics(region, children, campaign.reference_date)
    sub = children_statistics(region, grandchildren, campaign.reference_date) if grandchildren else {}
    rows = export.statistics_rows(region, children, grandchildren, top, sub)
    people = export.people_rows(region, children, grandchildren, campaign.reference_date)
    problems = export.check(rows) + [
        problem
        for table, table_rows in people
        for problem in export.check(table_rows, table.headings, table.groups)
    ]
    if problems:
        return render(
            request,
            "survey/statistics_mismatch.html",
            {"campaign": campaign, "region": region, "problems": problems},
            status=409,
        )
    content = export.workbook(
        title=f"{region.name}农村留守儿童统计表",
        unit=f"{region.name}民政局",
        reference_date=campaign.reference_date,
        rows=rows,
        people=people,
    )
    response = HttpResponse(content, content_type=XLSX)
    filename = quote(f"{region.name}留守儿童统计表.xlsx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@require_GET
@login_required
def progress_duplicates(request, pk, code):
    """The duplicate-suspect count of a region, loaded by the progress page after it is shown
    (a city-wide count takes ~0.4 s at 1M children: bench/survey.py)."""
    access.get_campaign_for_user(request.user, pk)
    region = get_region_for_user(request.user, code)
    return HttpResponse(f"<strong>{duplicate_suspects(region)}</strong>")


@require_GET
@login_required
def progress_current(request, code):
    """Where 区划与进度 (registry) leads while a campaign runs: the running campaign's progress of
    region ``code``; 404 when none is running or outside the user's scope."""
    region = get_region_for_user(request.user, code)
    running = Campaign.objects.filter(status=CampaignStatus.ACTIVE, region__in=[*region.ancestors(), region])
    campaign = running.first()
    if campaign is None:
        raise Http404
    access.get_campaign_for_user(request.user, campaign.pk)
    return redirect("survey_progress_region", pk=campaign.pk, code=region.code)
