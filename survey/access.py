"""The survey's access helpers (STYLE item 3): each object through the one policy, 404 outside the
user's scope whether or not it exists."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts import policy
from survey.models import Campaign, Inspection, VillageReturn


def get_return_for_user(user, pk):
    """The village return if its village is in ``user``'s scope; 404 otherwise."""
    return get_object_or_404(
        VillageReturn.objects.in_prefixes(policy.record_prefixes(user)).select_related("campaign", "village"),
        pk=pk,
    )


def get_campaign_for_user(user, pk):
    """The campaign if it covers ``user``'s scope; 404 otherwise."""
    campaign = get_object_or_404(Campaign.objects.select_related("region"), pk=pk)
    if not any(prefix.startswith(campaign.region.prefix) for prefix in policy.record_prefixes(user)):
        raise Http404
    return campaign


def get_inspection_for_user(user, pk):
    if not policy.can_follow_supervision(user):
        raise Http404
    return get_object_or_404(Inspection.objects.visible_to(user).select_related("county"), pk=pk)
