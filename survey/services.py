"""State changes of campaigns and village returns (STYLE §5): one function per change, each
atomic, each checking the policy and the state, writing its event and saying its side effects.
"""

from django.db import transaction
from django.utils import timezone

from accounts import policy
from audit.services import Action, audit_record
from registry import services as registry_services
from registry.choices import Category, RecordStatus
from registry.codes import ancestor_code
from registry.models import RECORD_MODELS, Region, RegionLevel
from registry.statistics import village_statistics_rebuild
from survey import workflows
from survey.models import (
    LOCKED_STATES,
    Campaign,
    CampaignStatus,
    ReturnEvent,
    ReturnState,
    VillageReturn,
)
from workflow import TransitionRefused


def active_campaign():
    """The campaign in progress, if any (one city per deployment; one active campaign per region)."""
    return Campaign.objects.filter(status=CampaignStatus.ACTIVE).select_related("region").first()


def screened_categories(campaign):
    flags = {
        Category.CHILD: campaign.screens_children,
        Category.WOMAN: campaign.screens_women,
        Category.ELDER: campaign.screens_elders,
    }
    return [category for category, screened in flags.items() if screened]


def live_counts(campaign, village):
    """Active records of ``village`` per screened category, as stored in a snapshot: {"child": n, …}."""
    return {
        category.value: RECORD_MODELS[category]
        .objects.filter(village=village, status=RecordStatus.ACTIVE)
        .count()
        for category in screened_categories(campaign)
    }


def snapshot_differences(village_return):
    """{category: (at submission, now)} where the live registry no longer matches the snapshot."""
    if not village_return.snapshot:
        return {}
    live = live_counts(village_return.campaign, village_return.village)
    return {
        Category(key).label: (village_return.snapshot.get(key, 0), count)
        for key, count in live.items()
        if village_return.snapshot.get(key, 0) != count
    }


# --- campaigns ------------------------------------------------------------------------------


def _require(allowed, message):
    if not allowed:
        raise TransitionRefused(message)


@transaction.atomic
def campaign_create(*, user, name, region, reference_date, start_date, deadline, categories):
    """Create a draft campaign of ``region`` (a city). Only the city office may.

    Side effects: a Campaign in 草稿; a 流程操作 audit event; nothing else until it is started.
    """
    _require(
        policy.can_run_campaigns(user) and policy.in_scope(user, region.code),
        "只有市民政局可以发起摸底排查。",
    )
    campaign = Campaign(
        name=name,
        region=region,
        reference_date=reference_date,
        start_date=start_date,
        deadline=deadline,
        screens_children=Category.CHILD in categories,
        screens_women=Category.WOMAN in categories,
        screens_elders=Category.ELDER in categories,
        created_by=user,
    )
    campaign.full_clean()  # also: the name is not taken in the region (a resent form makes no second)
    if not categories:
        raise TransitionRefused("请至少选择一类排查对象。")
    campaign.save()
    audit_record(user=user, action=Action.WORKFLOW, obj=campaign, detail="新建摸底排查（草稿）")
    return campaign


@transaction.atomic
def campaign_start(*, user, campaign):
    """草稿 → 进行中.

    Side effects: one 未开始 return per village of the campaign's region (bulk); the region's
    ages counted on the campaign's reference date (registry.services.region_campaign_set) and the
    village statistics rebuilt on it; a 流程操作 audit event; refused while another campaign of
    the region is in progress.
    """
    _require(policy.can_run_campaigns(user), "只有市民政局可以启动摸底排查。")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require(
        campaign.status == CampaignStatus.DRAFT,
        f"该排查当前为「{campaign.get_status_display()}」，不能启动。",
    )
    _require(
        not Campaign.objects.filter(region=campaign.region, status=CampaignStatus.ACTIVE).exists(),
        "已有一项摸底排查正在进行，请先结束它。",
    )
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    registry_services.region_campaign_set(region=campaign.region, reference_date=campaign.reference_date)
    villages = Region.objects.in_region(campaign.region).at_level(RegionLevel.VILLAGE)
    VillageReturn.objects.bulk_create(
        [VillageReturn(campaign=campaign, village=v, village_code=v.code) for v in villages.iterator()],
        batch_size=2000,
        ignore_conflicts=True,
    )
    village_statistics_rebuild(campaign.region, campaign.reference_date)
    audit_record(user=user, action=Action.WORKFLOW, obj=campaign, detail="启动摸底排查：草稿 → 进行中")
    return campaign


@transaction.atomic
def campaign_close(*, user, campaign):
    """进行中 → 已结束. Side effects: returns keep their states; records stay as they are but are
    no longer locked, and ages are counted on today again; a 流程操作 audit event."""
    _require(policy.can_run_campaigns(user), "只有市民政局可以结束摸底排查。")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require(campaign.status == CampaignStatus.ACTIVE, "只有进行中的排查可以结束。")
    campaign.status = CampaignStatus.CLOSED
    campaign.save(update_fields=["status"])
    registry_services.region_campaign_set(region=campaign.region, reference_date=None)
    audit_record(user=user, action=Action.WORKFLOW, obj=campaign, detail="结束摸底排查：进行中 → 已结束")
    return campaign


def village_return_for(campaign, village):
    """The village's return in ``campaign``, created 未开始 for a village added after the start."""
    ret, _ = VillageReturn.objects.select_related("campaign", "village").get_or_create(
        campaign=campaign, village=village, defaults={"village_code": village.code}
    )
    return ret


# --- village returns ------------------------------------------------------------------------
# Every change moves through the table survey.workflows.RETURN: who may, from which state, to which.


def _transition(village_return, *, user, action, reason="", **changes):
    """Take ``action`` (a key of the RETURN table) on the return, as the table says, and write the
    event (a ReturnEvent and a 流程操作 audit event)."""
    ret = (
        VillageReturn.objects.select_for_update()
        .select_related("campaign", "village")
        .get(pk=village_return.pk)
    )
    _require(ret.campaign.status == CampaignStatus.ACTIVE, "该摸底排查不在进行中，报表不能再变动。")
    row = workflows.RETURN.check(user, ret, action)
    event = ReturnEvent(
        village_return=ret,
        action=workflows.event_action(action),
        from_state=ret.state,
        to_state=row.target,
        actor=user,
        reason=reason,
        on_behalf=bool(changes.get("submitted_on_behalf")),
    )
    ret.state = row.target
    for name, value in changes.items():
        setattr(ret, name, value)
    ret.save(update_fields=["state", "updated_at", *changes])
    event.save()
    # An approved return locks the village's records against its cadre; reopening unlocks them.
    registry_services.villages_lock(villages=[ret.village], locked=row.target in LOCKED_STATES)
    audit_record(
        user=user,
        action=Action.WORKFLOW,
        obj=ret,
        detail=f"{event}" + (f"（原因：{reason}）" if reason else ""),
    )
    return ret


def _reason(reason, what):
    reason = (reason or "").strip()
    if not reason:
        raise TransitionRefused(f"{what}必须填写原因。")
    return reason[:200]


@transaction.atomic
def village_return_start(*, user, village_return):
    """未开始 → 填报中, by the village's cadre. Side effects: event."""
    workflows.RETURN.check_who(user, village_return, "start")
    return _transition(village_return, user=user, action="start")


@transaction.atomic
def village_return_submit(*, user, village_return, zero=False):
    """未开始/填报中 → 已提交, by the village's cadre — or, for a village with no cadre account, by
    its township's reviewer on the village's behalf (乡镇代报, shown as such); ``zero`` for a 零报告.

    Side effects: snapshots the village's active records per screened category; a zero return
    is refused while the village has records, and an ordinary one while it has none (so "no
    records" and "not yet reported" are never confused); marks a township's submission as on the
    village's behalf; event.
    """
    action = "submit_zero" if zero else "submit"
    workflows.RETURN.check_who(user, village_return, action)
    counts = live_counts(village_return.campaign, village_return.village)
    total = sum(counts.values())
    if zero:
        _require(total == 0, f"本村已登记 {total} 人，不能提交零报告。")
    else:
        _require(total > 0, "本村尚未登记任何人员：如经排查确实没有，请提交零报告。")
    return _transition(
        village_return,
        user=user,
        action=action,
        snapshot=counts,
        is_zero_return=zero,
        submitted_at=timezone.now(),
        submitted_on_behalf=not policy.is_village_cadre_of(user, village_return.village),
    )


@transaction.atomic
def village_return_send_back(*, user, village_return, reason):
    """已提交 → 填报中 (退回), by the township reviewer, with a required reason. Side effects: event."""
    workflows.RETURN.check_who(user, village_return, "send_back")
    reason = _reason(reason, "退回")
    return _transition(village_return, user=user, action="send_back", reason=reason, last_reason=reason)


@transaction.atomic
def village_return_approve(*, user, village_return):
    """已提交 → 乡镇已审核, by the township reviewer. Side effects: the village's records are
    locked against the cadre's edits; event."""
    workflows.RETURN.check_who(user, village_return, "approve")
    return _transition(village_return, user=user, action="approve")


@transaction.atomic
def village_return_reopen(*, user, village_return, reason):
    """乡镇已审核 → 填报中 by the township reviewer, or 县级已审核 → 填报中 by the county officer,
    with a required reason. Side effects: the records are unlocked; event."""
    workflows.RETURN.check_who(user, village_return, "reopen")
    reason = _reason(reason, "重新打开")
    return _transition(village_return, user=user, action="reopen", reason=reason, last_reason=reason)


@transaction.atomic
def township_approve(*, user, campaign, township):
    """县级审核: every village of ``township`` 乡镇已审核 → 县级已审核, by the county officer,
    once all of them are township-approved.

    Side effects: one event per village; refused (nothing changed) while any village is not
    yet approved by the township, naming how many.
    """
    county = Region.objects.get(code=ancestor_code(township.code, "county"))
    _require(policy.can_approve_townships(user, county), "只有本县的县级民政可以审核乡镇。")
    returns = list(
        VillageReturn.objects.select_for_update()
        .filter(campaign=campaign)
        .in_region(township)
        .order_by("village_code")
    )
    _require(returns, f"{township.name}没有村级报表。")
    waiting = [r for r in returns if r.state not in LOCKED_STATES]
    _require(not waiting, f"{township.name}还有 {len(waiting)} 个村（社区）未经乡镇审核，不能县级审核。")
    pending = [r for r in returns if r.state == ReturnState.TOWNSHIP_APPROVED]
    _require(pending, f"{township.name}已经县级审核。")
    for ret in pending:
        _transition(ret, user=user, action="county_approve")
    return len(pending)
