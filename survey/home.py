"""What the survey puts first on a user's home page (accounts.views.home composes these)."""

from accounts import policy
from registry.choices import Category
from survey import charts
from survey.inbox import waiting_for
from survey.progress import progress_by_child_region, timeline
from survey.services import active_campaign
from survey.statistics import children_statistics


def city_board(user, campaign):
    """The running campaign across the whole city, for those who may see the city's statistics:
    its headline figures (completion, villages overdue, children, women and elders counted as the
    progress page counts them) and its charts. None for anyone else. A fixed number of queries,
    however many counties, villages and records."""
    region = campaign.region
    if not policy.can_view_statistics(user, region):
        return None
    counties = list(region.children.order_by("code"))
    rows = progress_by_child_region(campaign, region, counties, categories=(Category.WOMAN, Category.ELDER))
    whole = rows[0]
    children = children_statistics(region, counties, campaign.reference_date)[None]["total"]
    return {
        "campaign": campaign,
        "region": region,
        "whole": whole,
        "children": children,
        "women": whole.records.get(Category.WOMAN.value, 0),
        "elders": whole.records.get(Category.ELDER.value, 0),
        "bars": charts.completion_bars(rows[1:]),
        "lines": charts.timeline_lines(timeline(campaign, region), whole.total),
    }


def home_context(user):
    """The campaign's inbox: my return, returns to review or submit for, townships to sign off,
    overdue villages and rectification items; and, for the city, the campaign's figures and charts."""
    campaign = active_campaign()
    return {
        "inbox": waiting_for(user),
        "city_board": city_board(user, campaign) if campaign is not None else None,
    }
