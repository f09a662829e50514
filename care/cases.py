"""Reports and cases (强制报告 → 受理 → 应急处置 → 评估 → 帮扶 → 结案) and referrals to member units:
one ``<entity>_<action>`` service per change, atomic, moving only through the tables of
care/workflows.py, writing the case's timeline (CaseEvent) and an audit event, and keeping the
child's level in step (an open case raises it). Deadlines come from care.CaseDeadline (data)
through care.rules; ``case_escalate_all`` marks what is past them, idempotently.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import Organisation, OrganisationKind, Role
from audit.services import Action, audit_record
from care import rules, workflows
from care.models import (
    SENSITIVE_KINDS,
    Case,
    CaseDeadline,
    CaseEvent,
    CaseState,
    CaseStep,
    Disposal,
    DisposalKind,
    Escalation,
    HelpKind,
    PlanItem,
    Referral,
    ReferralState,
    ReporterKind,
    ReportKind,
    Urgency,
)
from care.services import care_refresh
from registry.choices import RecordStatus
from registry.codes import ancestor_code
from registry.models import Child, Region, RegionLevel
from registry.rules import FLAG_NO_GUARDIAN
from workflow import clock

# The kind of reporter a user's role (and a liaison's unit) stands for, as the report form presets it.
_UNIT_REPORTER = {
    "education": ReporterKind.SCHOOL,
    "health": ReporterKind.HOSPITAL,
    "police": ReporterKind.POLICE,
}
_ROLE_REPORTER = {
    Role.VILLAGE_CADRE: ReporterKind.VILLAGE,
    Role.TOWNSHIP_REVIEWER: ReporterKind.TOWNSHIP,
    Role.COUNTY_OFFICER: ReporterKind.CIVIL_AFFAIRS,
    Role.CITY_OFFICE: ReporterKind.CIVIL_AFFAIRS,
}


def reporter_kind_of(user):
    if user.role == Role.LIAISON:
        code = user.organisation.code if user.organisation_id else ""
        return _UNIT_REPORTER.get(code, ReporterKind.OTHER_UNIT)
    return _ROLE_REPORTER.get(user.role, ReporterKind.OTHER_UNIT)


def deadline_hours():
    """{step: hours}, as an administrator has set them (care.CaseDeadline), defaults for the rest."""
    hours = dict(rules.DEFAULT_CASE_HOURS)
    hours.update(CaseDeadline.objects.values_list("step", "hours"))
    return hours


def _deadline(case, hours):
    step, counted_from = rules.case_step(case.state, case.urgency)
    if step is None:
        return None
    start = case.reported_at if counted_from == "reported" else case.accepted_at
    return start + datetime.timedelta(hours=hours[step])


def _event(case, *, action, label, actor, at, from_state="", to_state="", note=""):
    CaseEvent.objects.create(
        case=case,
        action=action,
        label=label,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        at=at,
        note=note[:300],
    )


def _audit(user, case, action, detail):
    audit_record(action=action, user=user, obj=case, object_label="强制报告个案", detail=detail)


def _require(condition, message):
    if not condition:
        raise ValidationError(message)


# --- opening a report ---------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    user,
    village,
    kind,
    description,
    urgency=Urgency.NORMAL,
    child=None,
    provisional_name="",
    provisional_note="",
    reporter_kind=None,
    place="",
    happened_at=None,
    police_reported_at=None,
    police_receipt="",
    immediate_action="",
    now=None,
):
    """Open a report (强制报告) about ``child`` in ``village``, or about a child not yet registered
    (``provisional_name``: the village must register the child or say why not, by
    ``provisional_due_on``). ``user`` None: opened by the system (a record's 无人监护 flag).

    Refused: a reporter outside the village, a child not registered in the village or not in the
    register, no child and no name, no description, times in the future. Side effects: the case
    待受理 with its acceptance deadline (24 h urgent, 72 h otherwise, care.CaseDeadline); a
    报告 event on its timeline; a 新增 audit event; the child's level recomputed.
    """
    now = now or timezone.now()
    if user is not None:
        _require(policy.can_open_report(user, village), "您不能报告该村（社区）的儿童。")
    _require(village.level == RegionLevel.VILLAGE, "请选择儿童所在的村（社区）。")
    _require(kind in ReportKind.values, "请选择发生了什么。")
    _require(urgency in Urgency.values, "请选择紧急程度。")
    _require(bool((description or "").strip()), "请写明发生了什么（时间、地点、儿童现在的处境）。")
    if child is not None:
        _require(child.village_id == village.pk, "该儿童不在所选的村（社区）登记。")
        _require(
            child.status == RecordStatus.ACTIVE, "该儿童已退出台账；如仍需报告，请按尚未登记的儿童报告。"
        )
    else:
        _require(bool((provisional_name or "").strip()), "请选择已登记的儿童，或填写尚未登记儿童的姓名。")
    for label, moment in (("发现时间", happened_at), ("向公安报告时间", police_reported_at)):
        _require(moment is None or moment <= now, f"{label}不能晚于现在。")
    hours = deadline_hours()
    case = Case(
        child=child,
        provisional_name="" if child else provisional_name.strip()[:30],
        provisional_note="" if child else (provisional_note or "").strip()[:200],
        provisional_due_on=None
        if child
        else timezone.localdate(now + datetime.timedelta(hours=hours[CaseStep.PROVISIONAL])),
        village=village,
        village_code=village.code,
        kind=kind,
        sensitive=kind in SENSITIVE_KINDS,
        urgency=urgency,
        reporter_kind=reporter_kind or (reporter_kind_of(user) if user else ReporterKind.SYSTEM),
        reported_by=user,
        reported_at=now,
        description=description.strip(),
        place=place,
        happened_at=happened_at,
        police_reported_at=police_reported_at,
        police_receipt=police_receipt,
        immediate_action=immediate_action,
        state=CaseState.REPORTED,
        state_since=now,
    )
    case.deadline_at = _deadline(case, hours)
    case.save()
    _event(case, action="report", label="报告", actor=user, at=now, to_state=CaseState.REPORTED)
    _audit(user, case, Action.CREATE, f"儿童记录 {child.pk}" if child else "尚未登记的儿童")
    if child is not None:
        care_refresh([child.pk])
    return case


UNGUARDED_DESCRIPTION = "登记信息显示该儿童无人监护（系统根据登记信息自动生成的报告，请核实并处置）。"


def cases_open_for_unguarded(child_pks, *, now=None):
    """A case for each child of ``child_pks`` whose record has the 无人监护 flag and who has no open
    case of neglect yet: opened by the system, urgent. Returns the cases opened."""
    neglect = (ReportKind.UNSUPERVISED, ReportKind.GUARDIAN_FAILS)
    covered = Case.objects.open().filter(child_id__in=child_pks, kind__in=neglect).values("child_id")
    flagged = (
        Child.objects.filter(pk__in=child_pks, status=RecordStatus.ACTIVE)
        .exclude(pk__in=covered)
        .values_list("pk", "risk_flags")
    )
    unguarded = Child.objects.filter(
        pk__in=[pk for pk, flags in flagged if FLAG_NO_GUARDIAN in (flags or ())]
    ).select_related("village")
    return [
        case_open(
            user=None,
            village=child.village,
            child=child,
            kind=ReportKind.GUARDIAN_FAILS,
            urgency=Urgency.URGENT,
            description=UNGUARDED_DESCRIPTION,
            now=now,
        )
        for child in unguarded
    ]


@transaction.atomic
def case_provisional_resolve(*, user, case, child=None, explanation="", now=None):
    """For a case about a child not yet registered: link the record the village has now registered
    (``child``, in the case's village and in the register), or say why the child is not registered
    (``explanation``). Refused for a case about a registered child or already resolved. Side
    effects: the link or the explanation; an event on the timeline; the child's level recomputed."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require(policy.can_resolve_provisional(user, case), "只有本村儿童主任或乡镇审核员可以补登或说明。")
    _require(
        case.child_id is None and case.provisional_resolved_at is None,
        "该个案的儿童已登记或已说明，无需再处理。",
    )
    if child is not None:
        _require(child.village_id == case.village_id, "所选儿童不在报告所在的村（社区）登记。")
        _require(child.status == RecordStatus.ACTIVE, "所选儿童已退出台账。")
        case.child = child
        label, note = "补登并关联儿童记录", f"儿童记录 {child.pk}"
    else:
        explanation = (explanation or "").strip()
        _require(bool(explanation), "请选择已补登的儿童记录，或写明不予登记的原因。")
        case.provisional_resolution = explanation[:200]
        label, note = "说明未登记原因", case.provisional_resolution
    case.provisional_resolved_at = now
    case.save(update_fields=["child", "provisional_resolution", "provisional_resolved_at"])
    _event(case, action="provisional", label=label, actor=user, at=now, note=note)
    _audit(user, case, Action.UPDATE, label)
    if case.child_id:
        care_refresh([case.child_id])
    return case


def late_provisional(queryset, on):
    """Cases whose child the village has neither registered nor explained by the deadline day."""
    return queryset.filter(
        child__isnull=True, provisional_resolved_at__isnull=True, provisional_due_on__lt=on
    )


# --- moving a case through the CASE table -------------------------------------------------------


def _transition(case, *, user, action, reason="", now=None, **changes):
    """Take ``action`` (a key of workflows.CASE) on ``case`` as the table says: state, deadline (a
    fresh step's clock; the escalation starts again), the timeline and an audit event."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    row = workflows.CASE.check(user, case, action)
    reason = (reason or "").strip()
    _require(not row.needs_reason or reason, f"请写明{row.label}的理由。")
    from_state = case.state
    case.state, case.state_since = row.target, now
    for name, value in changes.items():
        setattr(case, name, value)
    case.deadline_at = _deadline(case, deadline_hours())
    case.escalation = Escalation.NONE
    case.save(update_fields=["state", "state_since", "deadline_at", "escalation", *changes])
    _event(
        case,
        action=action,
        label=row.label,
        actor=user,
        at=now,
        from_state=from_state,
        to_state=row.target,
        note=reason,
    )
    _audit(
        user,
        case,
        Action.WORKFLOW,
        f"{row.label}：{CaseState(from_state).label} → {CaseState(row.target).label}",
    )
    if case.child_id:
        care_refresh([case.child_id])
    return case


@transaction.atomic
def case_accept(*, user, case, now=None):
    """待受理 → 应急处置 (受理). Side effects: accepted_at; the assessment's 7-day clock starts."""
    now = now or timezone.now()
    return _transition(case, user=user, action="accept", now=now, accepted_at=now)


@transaction.atomic
def case_reject(*, user, case, reason, now=None):
    """待受理 → 不予受理, with the reason. Side effects: the case ends; the child's level drops back."""
    return _transition(
        case, user=user, action="reject", reason=reason, now=now, closed_at=now or timezone.now()
    )


@transaction.atomic
def case_assess(*, user, case, safety, guardianship, health, serious_harm=False, measure="", now=None):
    """应急处置 → 已评估: the child's 安全处境, 监护情况 and 身心健康 (each required); whether the child
    suffered serious harm; a guardianship measure taken (临时/长期监护, or none). The plan's clock
    (15 days from acceptance) runs on."""
    texts = {"安全处境": safety, "监护情况": guardianship, "身心健康": health}
    missing = [label for label, text in texts.items() if not (text or "").strip()]
    _require(not missing, "请填写评估：" + "、".join(missing) + "。")
    return _transition(
        case,
        user=user,
        action="assess",
        now=now,
        assessment_safety=safety.strip()[:300],
        assessment_guardianship=guardianship.strip()[:300],
        assessment_health=health.strip()[:300],
        serious_harm=bool(serious_harm),
        guardianship_measure=measure or "",
    )


@transaction.atomic
def case_plan(*, user, case, items, now=None, today=None):
    """已评估 → 帮扶中 with a help plan: ``items`` [{kind, owner, due_on}], at least one, each with an
    owner and a due date not in the past."""
    today = today or clock.today()
    _require(bool(items), "帮扶计划至少要有一项。")
    for item in items:
        _require(item.get("kind") in HelpKind.values, "请选择帮扶内容。")
        _require(bool((item.get("owner") or "").strip()), "每项帮扶都要写明责任人或单位。")
        _require(
            item.get("due_on") is not None and item["due_on"] >= today, "每项帮扶的完成期限不能早于今天。"
        )
    case = _transition(case, user=user, action="plan", now=now)
    PlanItem.objects.bulk_create(
        PlanItem(
            case=case,
            kind=i["kind"],
            owner=i["owner"].strip()[:60],
            due_on=i["due_on"],
            note=i.get("note", ""),
        )
        for i in items
    )
    return case


@transaction.atomic
def case_request_close(*, user, case, outcome, now=None):
    """帮扶中 → 待县级批准结案, with the outcome (结案情况)."""
    return _transition(
        case,
        user=user,
        action="request_close",
        reason=outcome,
        now=now,
        outcome=(outcome or "").strip()[:300],
    )


@transaction.atomic
def case_approve_close(*, user, case, now=None):
    """待县级批准结案 → 已结案, by the county. Side effects: closed_at; the child's level drops back."""
    return _transition(case, user=user, action="approve_close", now=now, closed_at=now or timezone.now())


@transaction.atomic
def case_return_close(*, user, case, reason, now=None):
    """待县级批准结案 → 帮扶中, by the county, with the reason."""
    return _transition(case, user=user, action="return_close", reason=reason, now=now)


DISPOSING_STATES = (CaseState.DISPOSING, CaseState.ASSESSED, CaseState.HELPING)


@transaction.atomic
def case_dispose(*, user, case, kind, note="", now=None):
    """Record a disposal (应急处置措施) on an accepted, open case: 责令返回, 训诫, 护送至临时监护 …
    Side effects: a Disposal row; a 处置 event on the timeline; an audit event."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require(policy.can_handle_case(user, case), workflows.CASE.rows[(CaseState.REPORTED, "accept")].refusal)
    _require(
        case.state in DISPOSING_STATES, f"该个案当前为「{case.get_state_display()}」，不能记录处置措施。"
    )
    _require(kind in DisposalKind.values, "请选择处置措施。")
    disposal = Disposal.objects.create(
        case=case, kind=kind, note=(note or "").strip()[:300], done_by=user, done_at=now
    )
    _event(case, action="dispose", label=disposal.get_kind_display(), actor=user, at=now, note=disposal.note)
    _audit(user, case, Action.UPDATE, f"处置：{disposal.get_kind_display()}")
    return disposal


def revocation_grounds(case, *, today=None):
    """The grounds for applying to revoke guardianship that ``case`` may meet (care.rules)."""
    today = today or clock.today()
    open_days = (today - timezone.localdate(case.reported_at)).days if case.is_open else 0
    return rules.revocation_grounds(
        kind=case.kind,
        admonitions=case.disposals.filter(kind=DisposalKind.ADMONISH).count(),
        open_days=open_days,
        serious_harm=case.serious_harm,
    )


# --- escalation: the one clock, asked daily -----------------------------------------------------


def _who_must_act(case, level):
    county = Region.objects.filter(code=ancestor_code(case.village_code, RegionLevel.COUNTY)).first()
    step, _ = rules.case_step(case.state, case.urgency)
    what = CaseStep(step).label.split("（")[0]
    if level == Escalation.CITY:
        return f"严重逾期（{what}），请市民政局督办{county.name if county else ''}。"
    return f"逾期（{what}），请{county.name if county else '县'}民政局督办。"


@transaction.atomic
def case_escalate_all(*, now=None):
    """Mark every open case past its step's deadline: 县级督办 once late, 市级督办 once late by the
    step's own length again (care.rules.escalation). Idempotent: a case already marked at its level
    is left alone. Side effects: the case's escalation; an 逾期督办 event naming who must act."""
    now = now or timezone.now()
    hours = deadline_hours()
    changed = 0
    late = Case.objects.open().filter(deadline_at__lt=now).select_for_update()
    for case in late:
        step, _ = rules.case_step(case.state, case.urgency)
        level = rules.escalation(case.deadline_at, hours[step], now) if step else Escalation.NONE
        if level > case.escalation:
            case.escalation = level
            case.save(update_fields=["escalation"])
            _event(
                case, action="escalate", label="逾期督办", actor=None, at=now, note=_who_must_act(case, level)
            )
            changed += 1
    return changed


# --- referrals (转介) ----------------------------------------------------------------------------


def member_units():
    """The member units a need may be referred to (the leading group's, kind member_unit)."""
    return Organisation.objects.filter(kind=OrganisationKind.MEMBER_UNIT).order_by("sort_order", "name")


@transaction.atomic
def referral_create(*, user, child, unit, need, due_on, case=None, visit=None, now=None, today=None):
    """Refer ``need`` of ``child`` to member ``unit`` with a deadline (转介), from a case or a visit.

    Refused: a referrer who may not (policy.can_refer), a unit that is not a member unit, no need,
    a deadline in the past or more than 90 days ahead, a case or visit of another child. Side
    effects: the referral 待接收; a 转介 event on the case's timeline; an audit event."""
    now = now or timezone.now()
    today = today or clock.today()
    _require(policy.can_refer(user, child), "只有本村儿童主任、乡镇审核员或县级民政可以转介。")
    _require(unit is not None and unit.kind == OrganisationKind.MEMBER_UNIT, "请选择领导小组成员单位。")
    _require(bool((need or "").strip()), "请写明需要成员单位办理的事项。")
    _require(
        due_on is not None and today <= due_on <= today + datetime.timedelta(days=90),
        "办理期限应在今天至 90 天之内。",
    )
    _require(case is None or case.child_id == child.pk, "个案与儿童不符。")
    _require(visit is None or visit.child_id == child.pk, "走访记录与儿童不符。")
    referral = Referral.objects.create(
        child=child,
        case=case,
        visit=visit,
        village_code=child.village_code,
        unit=unit,
        need=need.strip()[:300],
        due_on=due_on,
        referred_by=user,
        referred_at=now,
    )
    if case is not None:
        _event(case, action="refer", label=f"转介{unit.name}", actor=user, at=now, note=referral.need)
    audit_record(
        action=Action.CREATE,
        user=user,
        obj=referral,
        object_label="转介",
        detail=f"儿童记录 {child.pk} → {unit.name}",
    )
    return referral


@transaction.atomic
def referral_answer(*, user, referral, action, answer="", now=None):
    """Take ``action`` (accept / decline / complete, workflows.REFERRAL) as the unit's liaison; a
    decline needs the reason, a completion what was done. Side effects: the state; the answer;
    an event on the case's timeline (if from a case); an audit event."""
    now = now or timezone.now()
    referral = Referral.objects.select_for_update().select_related("unit").get(pk=referral.pk)
    row = workflows.REFERRAL.check(user, referral, action)
    answer = (answer or "").strip()
    _require(
        not row.needs_reason or answer, "请写明退回理由。" if action == "decline" else "请写明办理情况。"
    )
    from_state = referral.state
    referral.state = row.target
    referral.answered_by = user
    if answer:
        referral.answer = answer[:300]
    referral.save(update_fields=["state", "answered_by", "answer", "updated_at"])
    if referral.case_id:
        _event(
            referral.case,
            action=f"referral_{action}",
            label=f"{referral.unit.name}{row.label}",
            actor=user,
            at=now,
            note=answer,
        )
    audit_record(
        action=Action.WORKFLOW,
        user=user,
        obj=referral,
        object_label="转介",
        detail=f"{row.label}：{ReferralState(from_state).label} → {ReferralState(row.target).label}",
    )
    return referral
