"""Who visits (民发〔2019〕34号): each village's named 儿童主任 and each township's 儿童督导员, the gaps
where nobody is named, and the supervisors' monthly 督导日志. ``<entity>_<action>`` services."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from audit.services import Action, audit_record
from care.models import CARE_WORKER_LEVEL, CareWorker, CareWorkerKind, SupervisionDiary
from registry.models import Region, RegionLevel
from registry.rules import check_phone
from workflow import clock


def _require(condition, message):
    if not condition:
        raise ValidationError(message)


@transaction.atomic
def care_worker_appoint(*, user, region, kind, name, phone="", since=None, account=None, today=None):
    """Name ``region``'s child director (a village) or child supervisor (a township) from ``since``.

    Refused: someone who may not (policy.can_manage_care_workers), the wrong level for the kind, no
    name, a bad phone, a date in the future or before the current holder's. Side effects: the
    current holder's term ends the day before ``since``; the new one; an audit event."""
    today = today or clock.today()
    since = since or today
    _require(kind in CareWorkerKind.values, "请选择儿童主任或儿童督导员。")
    _require(
        region.level == CARE_WORKER_LEVEL[kind],
        f"{CareWorkerKind(kind).label}应设在"
        + ("村（社区）。" if kind == CareWorkerKind.DIRECTOR else "乡镇（街道）。"),
    )
    _require(policy.can_manage_care_workers(user, region), "您不能为该区划指定儿童主任或儿童督导员。")
    _require(bool((name or "").strip()), "请填写姓名。")
    phone, error = check_phone(phone or "")
    _require(error is None, error or "")
    _require(since <= today, "任职日期不能晚于今天。")
    current = CareWorker.objects.select_for_update().filter(region=region, kind=kind).current().first()
    if current is not None:
        _require(
            since > current.since,
            f"任职日期应晚于现任 {current.name} 的任职日期（{current.since:%Y-%m-%d}）。",
        )
        current.until = since - datetime.timedelta(days=1)
        current.save(update_fields=["until"])
    worker = CareWorker.objects.create(
        kind=kind,
        region=region,
        region_code=region.code,
        name=name.strip()[:30],
        phone=phone,
        user=account,
        since=since,
        assigned_by=user,
        assigned_at=timezone.now(),
    )
    audit_record(
        action=Action.CREATE,
        user=user,
        obj=worker,
        object_label=CareWorkerKind(kind).label,
        detail=region.name,
    )
    return worker


def care_worker_gaps(region):
    """(villages without a 儿童主任, townships without a 儿童督导员) in ``region``: two queries."""
    named = {
        kind: CareWorker.objects.current().in_region(region).filter(kind=kind).values("region_id")
        for kind in CareWorkerKind.values
    }
    villages = (
        Region.objects.in_region(region).at_level(RegionLevel.VILLAGE).exclude(pk__in=named["director"])
    )
    townships = (
        Region.objects.in_region(region).at_level(RegionLevel.TOWNSHIP).exclude(pk__in=named["supervisor"])
    )
    return villages.order_by("code"), townships.order_by("code")


@transaction.atomic
def diary_record(*, user, township, month, villages, note, today=None):
    """Write (or rewrite) ``township``'s 督导日志 for ``month``: the villages visited and what was found.

    Refused: someone who may not (policy.can_keep_diary), a month in the future, no village, a
    village of another township, no note. Side effects: the diary (one per township and month,
    replaced on a second write of the same month); an audit event."""
    today = today or clock.today()
    month = month.replace(day=1)
    _require(policy.can_keep_diary(user, township), "只有本乡镇的儿童督导员（乡镇审核员）可以写督导日志。")
    _require(month <= today.replace(day=1), "不能为以后的月份写督导日志。")
    _require(bool(villages), "请选择本月督导过的村（社区）。")
    _require(all(v.code.startswith(township.prefix) and v.level == RegionLevel.VILLAGE for v in villages),
             "只能选择本乡镇的村（社区）。")  # fmt: skip
    _require(bool((note or "").strip()), "请写明督导情况。")
    diary, _ = SupervisionDiary.objects.update_or_create(
        township=township,
        month=month,
        defaults={
            "township_code": township.code,
            "note": note.strip(),
            "recorded_by": user,
            "recorded_at": timezone.now(),
        },
    )
    diary.villages.set(villages)
    audit_record(
        action=Action.UPDATE,
        user=user,
        obj=diary,
        object_label="督导日志",
        detail=f"{township.name} {month:%Y-%m}",
    )
    return diary
