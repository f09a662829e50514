"""The demo's 2022 campaign for the city: most villages approved, some submitted, some sent
back, some overdue, zero returns among them, and one inspection of a county with spot checks
and open rectifications. Deterministic; loading twice changes nothing.

States are written in bulk, walking the rows of survey.workflows.RETURN (a few thousand villages
through the one-by-one services would make `make run` slow); events and audit events say what the
services would.
"""

import random
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from registry.choices import Category, RecordStatus
from registry.codes import prefix
from registry.models import RECORD_MODELS, Region, RegionLevel
from registry.services import villages_lock
from survey import supervision, workflows
from survey.models import (
    LOCKED_STATES,
    Campaign,
    Inspection,
    ReturnEvent,
    ReturnState,
    Verdict,
    VillageReturn,
)
from survey.services import campaign_create, campaign_start

CAMPAIGN_NAME = "2022年全市农村留守儿童、留守妇女、留守老人摸底排查"
REFERENCE_DATE = date(2022, 7, 31)
START, DEADLINE = date(2022, 8, 1), date(2022, 9, 30)


def demo_campaign_create(*, city):
    """The 2022 campaign, started (so ages count on 2022-07-31); reused when it exists."""
    campaign = Campaign.objects.filter(name=CAMPAIGN_NAME, region=city).first()
    if campaign is None:
        office = User.objects.get(username="city")
        campaign = campaign_create(
            user=office,
            name=CAMPAIGN_NAME,
            region=city,
            reference_date=REFERENCE_DATE,
            start_date=START,
            deadline=DEADLINE,
            categories=list(Category),
        )
        campaign = campaign_start(user=office, campaign=campaign)
    return campaign


def _at(day, hour):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _counts_by_village(campaign):
    counts = {}
    for category, model in RECORD_MODELS.items():
        rows = (
            model.objects.in_region(campaign.region)
            .filter(status=RecordStatus.ACTIVE)
            .values("village_code")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts.setdefault(row["village_code"], dict.fromkeys(Category.values, 0))[category.value] = row[
                "n"
            ]
    return counts


# Each demo outcome as the actions that lead to it through survey.workflows.RETURN.
PATHS = {
    ReturnState.NOT_STARTED: [],
    ReturnState.IN_PROGRESS: ["start"],
    ReturnState.SUBMITTED: ["start", "submit"],
    "returned": ["start", "submit", "send_back"],
    ReturnState.TOWNSHIP_APPROVED: ["start", "submit", "approve"],
    ReturnState.COUNTY_APPROVED: ["start", "submit", "approve", "county_approve"],
}
# Days after the village started that each action happened.
DAYS_AFTER = {"start": 0, "submit": 1, "send_back": 3, "approve": 4, "county_approve": 8}


def demo_returns_load(*, campaign):
    """Give every 未开始 return of ``campaign`` its demo state and events (only once).

    Written in bulk (a few thousand villages through the one-by-one services would make
    `make run` slow), but every step is a row of survey.workflows.RETURN taken by someone the row
    allows: the village's cadre, or — for a village without a cadre account — its township's
    reviewer on the village's behalf (乡镇代报); each step also has its audit event, as the
    services write."""
    if ReturnEvent.objects.filter(village_return__campaign=campaign).exists():
        return 0
    rng = random.Random(2022)
    cadres = {u.region_id: u for u in User.objects.filter(role=Role.VILLAGE_CADRE, is_active=True)}
    reviewers = {
        prefix(u.region.code, "township"): u
        for u in User.objects.filter(role=Role.TOWNSHIP_REVIEWER).select_related("region")
    }
    counties = {
        prefix(u.region.code, "county"): u
        for u in User.objects.filter(role=Role.COUNTY_OFFICER).select_related("region")
    }
    counts = _counts_by_village(campaign)
    empty = dict.fromkeys(Category.values, 0)
    returns = list(
        VillageReturn.objects.filter(campaign=campaign)
        .select_related("campaign", "village")
        .order_by("village_code")
    )
    # 清丰县 is the demo county: keep its first township open for the walk-through.
    walkthrough = Region.objects.filter(users__username="township").values_list("code", flat=True).first()
    walkthrough = prefix(walkthrough, "township") if walkthrough else None
    events, audits, changed = [], [], []
    for ret in returns:
        code = ret.village_code
        township, county = prefix(code, "township"), prefix(code, "county")
        cadre = cadres.get(ret.village_id)
        actors = {
            "start": cadre or reviewers[township],
            "submit": cadre or reviewers[township],
            "send_back": reviewers[township],
            "approve": reviewers[township],
            "county_approve": counties[county],
        }
        roll = rng.random()
        if walkthrough and township == walkthrough:
            outcome = ReturnState.NOT_STARTED if roll < 0.5 else ReturnState.SUBMITTED
        elif roll < 0.70:
            outcome = (
                ReturnState.COUNTY_APPROVED
                if county in ("410902", "410926", "410927")
                else ReturnState.TOWNSHIP_APPROVED
            )
        elif roll < 0.82:
            outcome = ReturnState.SUBMITTED
        elif roll < 0.90:
            outcome = "returned"
        elif roll < 0.95:
            outcome = ReturnState.IN_PROGRESS
        else:
            outcome = ReturnState.NOT_STARTED
        snapshot = counts.get(code, empty)
        zero = not any(snapshot.values())
        day = START + timedelta(days=rng.randint(3, 50))
        state = ret.state
        for index, action in enumerate(PATHS[outcome]):
            key = ("submit_zero" if zero else "submit") if action == "submit" else action
            target = workflows.RETURN.target(state, key)
            when = _at(day + timedelta(days=DAYS_AFTER[action]), 9 + index)
            reason = ""
            if action == "submit":
                ret.snapshot, ret.is_zero_return, ret.submitted_at = snapshot, zero, when
                ret.submitted_on_behalf = cadre is None
            if action == "send_back":
                reason = rng.choice(
                    ["监护人电话缺失，请补充", "有两名儿童父母已返乡，请核实", "身份证号与户籍信息不符"]
                )
                ret.last_reason = reason
            actor = actors[action]
            event = ReturnEvent(
                village_return=ret,
                action=workflows.event_action(key),
                from_state=state,
                to_state=target,
                actor=actor,
                reason=reason,
                on_behalf=action in ("start", "submit") and cadre is None,
                at=when,
            )
            events.append(event)
            audits.append(_audit_event(actor, ret, event, when))
            state = target
        if state != ret.state:
            ret.state = state
            changed.append(ret)
    VillageReturn.objects.bulk_update(
        changed,
        ["state", "snapshot", "is_zero_return", "submitted_at", "submitted_on_behalf", "last_reason"],
        batch_size=1000,
    )
    ReturnEvent.objects.bulk_create(events, batch_size=2000)
    AuditEvent.objects.bulk_create(audits, batch_size=2000)
    villages_lock(villages=[ret.village for ret in changed if ret.state in LOCKED_STATES], locked=True)
    return len(changed)


def _audit_event(actor, ret, event, when):
    """The 流程操作 event survey.services._transition writes for ``event``, dated ``when``."""
    detail = f"{event}" + (f"（原因：{event.reason}）" if event.reason else "")
    return AuditEvent(
        at=when,
        user=actor,
        username=actor.get_username(),
        role=actor.role,
        action=AuditEvent.Action.WORKFLOW,
        object_type="survey.villagereturn",
        object_id=ret.pk,
        object_label=str(ret)[:100],
        detail=detail[:500],
    )


def demo_inspection_load(*, campaign):
    """One inspection of 南乐县 with a spot-check sample, verdicts and rectification items (once)."""
    county = Region.objects.filter(level=RegionLevel.COUNTY, name="南乐县").first()
    if county is None or Inspection.objects.filter(county=county).exists():
        return None
    inspector = User.objects.get(username="supervisor")
    inspection = supervision.inspection_create(
        user=inspector,
        county=county,
        date=date(2022, 9, 20),
        team="陈督导（组长）、市公安局户政科、市教育局基教科",
        notes="听取县级汇报，抽查入户核实，查阅乡镇台账。",
        campaign=campaign,
    )
    supervision.inspection_draw_sample(user=inspector, inspection=inspection, size=30, seed="20220920")
    rng = random.Random(920)
    for check in inspection.checks.order_by("pk"):
        verdict = rng.choices([Verdict.TRUE, Verdict.WRONG, Verdict.FALSE, Verdict.PENDING], [75, 12, 3, 10])[
            0
        ]
        if verdict != Verdict.PENDING:
            note = {Verdict.WRONG: "监护人电话已变更", Verdict.FALSE: "父母已返乡务农"}.get(verdict, "")
            supervision.spot_check_record(user=inspector, check=check, verdict=verdict, note=note)
    Inspection.objects.filter(pk=inspection.pk).update(
        findings="部分监护人联系方式未及时更新；个别家庭父母已返乡未及时退出台账。"
    )
    officer = User.objects.filter(role=Role.COUNTY_OFFICER, region=county).first()
    today = timezone.localdate()
    items = [
        ("对抽查中信息有误的记录逐一更正", "南乐县民政局", today + timedelta(days=20)),
        ("父母已返乡的儿童及时退出台账", "各乡镇人民政府", today - timedelta(days=10)),
        ("补齐缺失的监护人联系电话", "南乐县民政局", today - timedelta(days=30)),
    ]
    for index, (description, unit, deadline) in enumerate(items):
        item = supervision.rectification_create(
            user=inspector,
            inspection=inspection,
            description=description,
            responsible_unit=unit,
            deadline=deadline,
        )
        if index == 2 and officer is not None:
            supervision.rectification_mark_done(
                user=officer, item=item, evidence="已电话回访，补齐 43 名儿童监护人电话"
            )
    return inspection
