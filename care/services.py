"""Every write of the care loop (STYLE item 5): ``<entity>_<action>`` services, atomic, each
writing its audit event; and ``care_refresh``, which keeps each child's ChildCare row (level with
reasons, the visit clock) in step with the registry and the visits.
"""

import datetime
import functools

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from accounts import policy
from audit.services import Action, audit_record
from care import counting, rules
from care.models import AREAS, Case, ChildCare, LevelOverride, RiskLevel, Visit, VisitWay
from registry import bulk
from registry.choices import RecordStatus
from registry.models import Child
from workflow import clock

CHUNK = 2_000


def levels():
    """{rank: RiskLevel}, the four levels as an administrator has set them (one query); a rank
    missing from the table (a database emptied by hand) is its shipped default, unsaved."""
    rows = {level.rank: level for level in RiskLevel.objects.all()}
    for rank, (name, colour, meaning, interval) in rules.DEFAULT_LEVELS.items():
        if rank not in rows:
            rows[rank] = RiskLevel(
                rank=rank, name=name, colour=colour, meaning=meaning, visit_interval_days=interval
            )
    return dict(sorted(rows.items()))


# --- keeping ChildCare in step -----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _level(flags, assessment, health, concerns, open_cases):
    return rules.child_level(
        risk_flags=flags,
        guardian_assessment=assessment,
        health=health,
        last_visit_concerns=concerns,
        open_cases=open_cases,
    )


_FIELDS = ("pk", "village_code", "status", "risk_flags", "guardian_assessment", "health", "created_at")


def care_refresh(pks):
    """Recompute the ChildCare rows of the children ``pks`` from their records and their latest
    visit: level and reasons, the visit clock's start, the visit count. A reviewer's override is
    kept (it ends at its own date). Rows missing are created. Bulk queries per chunk. Side effect:
    today's counts of the villages touched (care/counting.py), before and after a move."""
    pks = list(pks)
    villages = set(ChildCare.objects.filter(child_id__in=pks).values_list("village_code", flat=True))
    for start in range(0, len(pks), CHUNK):
        villages |= _refresh_chunk(pks[start : start + CHUNK])
    counting.village_counts_refresh(villages, clock.today(), levels())


def village_counts_rebuild():
    """Every village's counts for today (run hourly by run_worker: settings.WORKER_HOURLY)."""
    return counting.village_counts_rebuild(clock.today(), levels())


def _latest_visit():
    return Visit.objects.current().filter(child=OuterRef("pk")).order_by("-visited_on", "-pk")


def _refresh_chunk(pks):
    children = list(
        Child.objects.filter(pk__in=pks)
        .annotate(last_visit_id=Subquery(_latest_visit().values("pk")[:1]))
        .values(*_FIELDS, "last_visit_id")
    )
    visit_ids = [c["last_visit_id"] for c in children if c["last_visit_id"]]
    visits = {v.pk: v for v in Visit.objects.filter(pk__in=visit_ids)}
    counts = dict(
        Visit.objects.current()
        .filter(child_id__in=pks)
        .order_by()
        .values_list("child_id")
        .annotate(n=Count("pk"))
        .values_list("child_id", "n")
    )
    cases = {}
    for child_id, urgency in Case.objects.open().filter(child_id__in=pks).values_list("child_id", "urgency"):
        cases.setdefault(child_id, set()).add(urgency)
    rows = [
        _row(
            child, visits.get(child["last_visit_id"]), counts.get(child["pk"], 0), cases.get(child["pk"], ())
        )
        for child in children
    ]
    existing = set(ChildCare.objects.filter(child_id__in=pks).values_list("child_id", flat=True))
    fresh = [row for row in rows if row["child_id"] not in existing]
    if fresh:
        _insert(fresh)
    villages = {row["village_code"] for row in rows}
    if len(fresh) < len(rows):
        # One INSERT … ON CONFLICT DO UPDATE per batch: bulk_update's CASE per field and row took
        # 37 s of the demo's 15,362 children on SQLite, this a fraction of a second.
        ChildCare.objects.bulk_create(
            [ChildCare(**row) for row in rows if row["child_id"] in existing],
            batch_size=bulk.BATCH,
            update_conflicts=True,
            unique_fields=["child"],
            update_fields=_REFRESHED,
        )
    return villages


_REFRESHED = [
    "village_code",
    "in_register",
    "computed_rank",
    "reasons",
    "counted_from",
    "last_visit_on",
    "visit_count",
    "updated_at",
]


def _row(child, visit, visit_count, open_cases):
    concerns = tuple(visit.concerns()) if visit else ()
    flags = tuple(child["risk_flags"] or ())
    rank, reasons = _level(
        flags, child["guardian_assessment"], child["health"], concerns, tuple(sorted(open_cases))
    )
    registered_on = timezone.localdate(child["created_at"])
    return {
        "child_id": child["pk"],
        "village_code": child["village_code"],
        "in_register": child["status"] == RecordStatus.ACTIVE,
        "computed_rank": rank,
        "reasons": [list(reason) for reason in reasons],
        "counted_from": visit.visited_on if visit else registered_on,
        "last_visit_on": visit.visited_on if visit else None,
        "visit_count": visit_count,
    }


def _insert(rows):
    """New ChildCare rows: by COPY on PostgreSQL (an import registers thousands of children at
    once), bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        ChildCare.objects.bulk_create([ChildCare(**row) for row in rows], batch_size=bulk.BATCH)
        return
    now = timezone.now()
    fields = ChildCare._meta.concrete_fields
    defaults = {"override_rank": None, "override_until": None, "updated_at": now}
    bulk.copy_in(ChildCare, fields, ([{**defaults, **row}[f.attname] for f in fields] for row in rows))


# --- visits -------------------------------------------------------------------------------------

SENT_TWICE = "这次走访已经记录过了（同一天、同一方式）。如需修改，请在儿童关爱页面更正那条记录。"
VISIT_FIELDS = [
    "visited_on",
    "way",
    "met",
    *(f"{area}_{part}" for area, _ in AREAS for part in ("concern", "note")),
    "needs",
    "next_step",
]


def _visit_refusal(user, child, visited_on, today):
    if not policy.can_record_visit(user, child):
        if child.status != RecordStatus.ACTIVE:
            return "该儿童已退出台账，不能再记录走访。"
        return "只有本村儿童主任（村干部）或乡镇儿童督导员可以记录走访。"
    if visited_on is None:
        return "请填写走访日期。"
    if visited_on > today:
        return f"走访日期不能晚于今天（{today:%Y-%m-%d}）。"
    if visited_on < timezone.localdate(child.created_at) - datetime.timedelta(days=366):
        return "走访日期早于该儿童登记前一年，请核对。"
    return None


@transaction.atomic
def visit_record(*, child, user, data, today=None):
    """Record a home visit to ``child`` from validated ``data`` (VISIT_FIELDS).

    Refused (ValidationError, in Chinese) outside the recorder's scope, for an exited child, or
    dated in the future. Side effects: the child's level and visit clock are recomputed
    (ChildCare); a 新增 audit event names the child by record, never by name.
    """
    today = today or clock.today()
    child = Child.objects.select_for_update().get(pk=child.pk)
    refusal = _visit_refusal(user, child, data.get("visited_on"), today)
    if refusal:
        raise ValidationError(refusal)
    # A double tap or a replayed form, checked under the child's row lock so two at once cannot both pass.
    twice = Visit.objects.current().filter(
        child=child, visited_on=data["visited_on"], way=data.get("way", VisitWay.HOME), recorded_by=user
    )
    if twice.exists():
        raise ValidationError(SENT_TWICE)
    visit = Visit.objects.create(
        child=child,
        village_code=child.village_code,
        recorded_by=user,
        **{k: data[k] for k in VISIT_FIELDS if k in data},
    )
    care_refresh([child.pk])
    audit_record(
        action=Action.CREATE, user=user, obj=visit, object_label="走访记录", detail=f"儿童记录 {child.pk}"
    )
    return visit


@transaction.atomic
def visit_correct(*, visit, user, data, reason, today=None):
    """Correct ``visit``: a new visit that replaces it, with ``reason``; the old one is kept.

    Refused for a visit already corrected (correct the correction), without a reason, or as
    visit_record refuses. Side effects: ChildCare recomputed; a 修改 audit event.
    """
    today = today or clock.today()
    old = Visit.objects.select_for_update().select_related("child").get(pk=visit.pk)
    if Visit.objects.filter(corrects=old).exists():
        raise ValidationError("这条走访记录已被更正过，请在更正后的记录上修改。")
    if not (reason or "").strip():
        raise ValidationError("请填写更正原因。")
    refusal = _visit_refusal(user, old.child, data.get("visited_on"), today)
    if refusal:
        raise ValidationError(refusal)
    new = Visit.objects.create(
        child=old.child,
        village_code=old.village_code,
        recorded_by=user,
        corrects=old,
        correction_reason=reason.strip()[:200],
        **{k: data[k] for k in VISIT_FIELDS if k in data},
    )
    care_refresh([old.child_id])
    audit_record(
        action=Action.UPDATE, user=user, obj=new, object_label="走访记录", detail=f"更正走访记录 {old.pk}"
    )
    return new


# --- a reviewer's override ----------------------------------------------------------------------


@transaction.atomic
def level_override_set(*, child, user, rank, reason, until, today=None):
    """Set ``child``'s level to ``rank`` until ``until`` (the next review date), with ``reason``.

    Refused unless the user may (policy.can_override_level), without a reason, or with a review
    date not after today or more than a year ahead. Side effects: a LevelOverride row (history);
    ChildCare's override; a 修改 audit event.
    """
    today = today or clock.today()
    if not policy.can_override_level(user, child):
        raise ValidationError("只有乡镇审核员（儿童督导员）可以调整本乡镇儿童的风险等级。")
    if rank not in rules.RANKS:
        raise ValidationError("请选择风险等级。")
    if not (reason or "").strip():
        raise ValidationError("请写明调整理由。")
    if until is None or until <= today or until > today + datetime.timedelta(days=366):
        raise ValidationError("下次复核日期应在今天之后、一年之内。")
    care = ChildCare.objects.select_for_update().get(child=child)
    if (care.override_rank, care.override_until) == (rank, until):
        raise ValidationError("风险等级已按此调整（同一等级、同一复核日期），无需重复提交。")
    LevelOverride.objects.create(
        child=child,
        computed_rank=care.computed_rank,
        rank=rank,
        reason=reason.strip()[:300],
        until=until,
        set_by=user,
        set_at=timezone.now(),
    )
    care.override_rank, care.override_until = rank, until
    care.save(update_fields=["override_rank", "override_until", "updated_at"])
    counting.village_counts_refresh([care.village_code], today, levels())
    audit_record(
        action=Action.UPDATE,
        user=user,
        obj=care,
        object_label="风险等级",
        detail=f"儿童记录 {child.pk} 调整为 {rank} 级",
    )
    return care
