"""Supervision (督导): inspections of a county, reproducible spot-check samples, rectifications.

Each change is one function (STYLE §5) that asks the policy first and says its side effects.
"""

import random

from django.db import transaction
from django.utils import timezone

from accounts import policy
from audit.services import Action, audit_record
from registry.choices import Category, RecordStatus
from registry.models import RECORD_MODELS, Region, RegionLevel
from survey import workflows
from survey.models import Inspection, Rectification, SpotCheck, Verdict
from survey.workflows import SupervisionRefused


def _require(allowed, message):
    if not allowed:
        raise SupervisionRefused(message)


@transaction.atomic
def inspection_create(*, user, county, date, team, notes="", campaign=None):
    """Open an inspection of ``county``. Side effects: an Inspection row; a 流程操作 audit event."""
    _require(policy.can_inspect(user, county), "只有负责该县的督导组成员或市民政局可以创建督导检查。")
    _require(county.level == RegionLevel.COUNTY, "督导对象应为县（区）。")
    inspection = Inspection(
        campaign=campaign,
        county=county,
        county_code=county.code,
        date=date,
        team=team,
        notes=notes,
        created_by=user,
    )
    inspection.full_clean()
    inspection.save()
    audit_record(user=user, action=Action.WORKFLOW, obj=inspection, detail="新建督导检查")
    return inspection


def allocate(sizes, total):
    """Split ``total`` over strata of ``sizes`` in proportion (largest remainder), never above a size."""
    population = sum(sizes.values())
    total = min(total, population)
    if not total:
        return dict.fromkeys(sizes, 0)
    exact = {key: total * size / population for key, size in sizes.items()}
    shares = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: (shares[k] - exact[k], k))[: total - sum(shares.values())]:
        shares[key] += 1
    return shares


def draw_sample(county, size, seed, category=Category.CHILD):
    """[(record_id, village_code)] of a stratified random sample of ``county``'s active records.

    Strata are townships, each given its proportional share; within a stratum the records are
    ordered by id and drawn with a generator seeded by ``seed`` and the township, so the same
    seed over the same records gives the same sample.
    """
    model = RECORD_MODELS[category]
    rows = (
        model.objects.in_region(county)
        .filter(status=RecordStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", "village_code")
    )
    strata = {}
    for pk, code in rows:
        strata.setdefault(code[:9], []).append((pk, code))
    shares = allocate({key: len(items) for key, items in strata.items()}, size)
    sample = []
    for township in sorted(strata):
        rng = random.Random(f"{seed}:{township}")
        sample += sorted(rng.sample(strata[township], shares[township]))
    return sample


@transaction.atomic
def inspection_draw_sample(*, user, inspection, size, seed):
    """Draw the spot-check sample of ``inspection`` (once). Side effects: one SpotCheck per record;
    a 流程操作 audit event with the seed and the sample size."""
    county = Region.objects.get(code=inspection.county_code)
    _require(policy.can_inspect(user, county), "只有负责该县的督导组成员或市民政局可以抽样。")
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    _require(not inspection.sample_seed, "本次督导已经抽样，不能重复抽取。")
    _require(size > 0, "抽样数应大于0。")
    seed = str(seed).strip()
    _require(seed, "请填写抽样种子（如日期或任意数字），以便复核时重现同一样本。")
    sample = draw_sample(county, size, seed)
    SpotCheck.objects.bulk_create(
        [
            SpotCheck(inspection=inspection, category=Category.CHILD, record_id=pk, village_code=code)
            for pk, code in sample
        ]
    )
    inspection.sample_seed, inspection.sample_size = seed, len(sample)
    inspection.save(update_fields=["sample_seed", "sample_size"])
    audit_record(
        user=user, action=Action.WORKFLOW, obj=inspection, detail=f"抽样：种子 {seed}", count=len(sample)
    )
    return inspection


@transaction.atomic
def spot_check_record(*, user, check, verdict, note=""):
    """Record what the inspector found for one sampled record. Side effects: verdict, who, when;
    a 流程操作 audit event naming the record."""
    _require(
        policy.can_inspect(user, Region.objects.get(code=check.inspection.county_code)),
        "只有督导组成员可以填写核查结果。",
    )
    _require(verdict in Verdict.values and verdict != Verdict.PENDING, "请选择核查结果。")
    _require(verdict == Verdict.TRUE or note.strip(), "核查结果为不属实或信息有误时，请写明情况。")
    check.verdict, check.note, check.checked_by, check.checked_at = (
        verdict,
        note.strip()[:200],
        user,
        timezone.now(),
    )
    check.save(update_fields=["verdict", "note", "checked_by", "checked_at"])
    audit_record(
        user=user,
        action=Action.WORKFLOW,
        obj=check,
        object_label=f"抽查 {check.get_category_display()} #{check.record_id}",
        detail=f"核查结果：{check.get_verdict_display()}",
    )
    return check


@transaction.atomic
def rectification_create(*, user, inspection, description, responsible_unit, deadline):
    """File a rectification item (待整改). Side effects: a Rectification row; a 流程操作 audit event."""
    _require(
        policy.can_inspect(user, Region.objects.get(code=inspection.county_code)),
        "只有督导组成员可以提出整改事项。",
    )
    item = Rectification(
        inspection=inspection,
        county_code=inspection.county_code,
        description=description,
        responsible_unit=responsible_unit,
        deadline=deadline,
        updated_by=user,
    )
    item.full_clean()
    item.save()
    audit_record(
        user=user, action=Action.WORKFLOW, obj=item, detail=f"提出整改事项（{item.responsible_unit}）"
    )
    return item


def _item_transition(item, *, user, action, detail, requires=(), **changes):
    """Take ``action`` (a key of survey.workflows.RECTIFICATION) on the item, as the table says,
    once each of ``requires`` ((condition, message) pairs) holds.

    Side effects: the status and ``changes``; ``updated_by``; a 流程操作 audit event."""
    workflows.RECTIFICATION.check_who(user, item, action)
    item = Rectification.objects.select_for_update().get(pk=item.pk)
    row = workflows.RECTIFICATION.check(user, item, action)
    for condition, message in requires:
        _require(condition, message)
    item.status, item.updated_by = row.target, user
    for name, value in changes.items():
        setattr(item, name, value)
    item.save(update_fields=["status", "updated_by", *changes])
    audit_record(user=user, action=Action.WORKFLOW, obj=item, detail=detail)
    return item


@transaction.atomic
def rectification_mark_done(*, user, item, evidence):
    """待整改 → 已整改, by the county, with the evidence. Side effects: status, evidence, time; a
    流程操作 audit event."""
    return _item_transition(
        item,
        user=user,
        action="done",
        detail="整改：待整改 → 已整改",
        requires=[(evidence.strip(), "请填写整改情况或佐证材料说明。")],
        evidence=evidence.strip(),
        done_at=timezone.now(),
    )


@transaction.atomic
def rectification_close(*, user, item):
    """已整改 → 已销号, by the supervision group or the city office. Side effects: status, time; a
    流程操作 audit event."""
    return _item_transition(
        item, user=user, action="close", detail="整改：已整改 → 已销号", closed_at=timezone.now()
    )


@transaction.atomic
def rectification_reopen(*, user, item):
    """已整改 → 待整改 when the evidence does not convince. Side effects: status; a 流程操作 audit event."""
    return _item_transition(item, user=user, action="reopen", detail="整改：已整改 → 待整改（退回）")
