"""Writes to the records of people (STYLE §5): one function per change, each atomic, each
leaving a history entry with who, when and from where (web or import).

Forms validate; these functions write. The database has the last word on "one person, one
record": the ID number is claimed in IdentityClaim inside the same transaction.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import policy
from accounts.models import Role, User
from audit.services import Action, audit_record
from registry import bulk, rules
from registry.choices import Assistance, Category, ExitReason, HistorySource, RecordStatus
from registry.models import RECORD_MODELS, IdentityClaim, Region
from registry.signals import children_written
from registry.statistics import village_statistics_refresh

STALE_MESSAGE = "该记录已被他人修改，请刷新后重试"
LOCKED_MESSAGE = "本村本次摸底排查的报表已经审核，记录已锁定；如需修改，请联系乡镇审核员重新打开报表。"
EXITED_MESSAGE = "该记录已退出台账，请先恢复在册再修改。"
# PostgreSQL's lock_timeout (settings.DB_LOCK_TIMEOUT_MS) ran out while another save held the row.
BUSY_MESSAGE = "该记录正由他人保存中，请稍后重试"
LOCK_NOT_AVAILABLE = "55P03"


class StaleRecord(ValidationError):
    """The record changed since the form was opened (optimistic version check)."""

    def __init__(self):
        super().__init__(STALE_MESSAGE, code="stale")


def reference_date():
    """The date ages are counted on: the running campaign's reference date, else today.

    Survey's services keep it on the campaign's region (Region.campaign_reference_date) when a
    campaign starts and clear it when it closes: the registry does not read the survey's tables.
    """
    on = (
        Region.objects.filter(campaign_reference_date__isnull=False)
        .order_by("-campaign_reference_date")
        .values_list("campaign_reference_date", flat=True)
        .first()
    )
    return on or timezone.localdate()


def village_locked_for(user, village):
    """Whether ``village``'s records are locked against ``user`` now (read afresh from the
    database: policy.records_locked_against, on the stored lock)."""
    return policy.records_locked_against(user, Region.objects.only("records_locked").get(pk=village.pk))


def _require_unlocked(user, *villages):
    if any(village_locked_for(user, village) for village in villages):
        raise ValidationError(LOCKED_MESSAGE, code="locked")


RECORD_SLUGS = {Category.CHILD: "children", Category.WOMAN: "women", Category.ELDER: "elders"}


def duplicate_id_message(id_number, *, user=None):
    """Where an ID number is already registered (its village and township: what resolving a
    duplicate needs, nothing more of the record, whoever asks — DESIGN §2 "one person is one
    record") and whom to ask: that village's cadre, or its township's reviewer, never ``user``
    (the person typing it). None if the number is not registered."""
    claim = IdentityClaim.objects.select_related("village").filter(id_number=id_number).first()
    if claim is None:
        return None
    village = claim.village
    above = {r.level: r for r in village.ancestors() if r.level in ("county", "township")}
    place = "".join(r.name for r in above.values()) + village.name
    township = above.get("township")
    staff = User.objects.filter(is_active=True).exclude(pk=getattr(user, "pk", None)).order_by("pk")
    whom = []
    for role, region, title in (
        (Role.VILLAGE_CADRE, village, f"{village.name}儿童主任"),
        (Role.TOWNSHIP_REVIEWER, township, f"{township.name if township else ''}审核员"),
    ):
        people = staff.filter(role=role, region=region) if region else []
        if people:
            whom.append(
                title + "、".join(f"{u.display_name}{f'（{u.phone}）' if u.phone else ''}" for u in people)
            )
    if not whom:
        whom = [f"{township.name if township else village.name + '所在乡镇'}民政所"]
    return (
        f"该身份证号已在{place}登记为{Category(claim.category).label}，同一人只能登记一次。"
        f"如信息有误或人员已迁入本村，请联系{'或'.join(whom)}核实。"
    )


def duplicate_record_url(id_number, user):
    """The page of the record holding ``id_number`` if ``user`` may read it (it is in their
    scope: RECORD_MODELS' visible_to, on accounts.policy), else None — outside it a duplicate is
    told only by its village and township (duplicate_id_message)."""
    claim = IdentityClaim.objects.filter(id_number=id_number).only("category").first()
    if claim is None or user is None:
        return None
    pk = (
        RECORD_MODELS[claim.category]
        .objects.visible_to(user)
        .filter(id_number=id_number)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    return reverse("record_detail", kwargs={"kind": RECORD_SLUGS[claim.category], "pk": pk})


def derive(record, *, on=None, today=None):
    """Set what is computed from the record itself: village code, ID warnings, risk and type
    (the type on the reference date ``on``, by default the running campaign's; the ID checked
    as of ``today``, by default today)."""
    record.village_code = record.village.code
    warnings = rules.check_id_number(record.id_number, today=today).warnings
    record.id_warnings = "；".join(warnings + rules.id_county_warnings(record.id_number, record.village_code))
    if record.category == Category.CHILD:
        flags = rules.child_red_flags(
            guardianship_type=record.guardianship_type,
            guardian_assessment=record.guardian_assessment,
            health=record.health,
            schooling=record.schooling,
            father_status=record.father_status,
            mother_status=record.mother_status,
        )
        verdict = rules.classify_child(
            birth_date=record.birth_date,
            father_status=record.father_status,
            mother_status=record.mother_status,
            reference_date=on or reference_date(),
        )
        record.left_behind_type = verdict.kind or ""
    else:
        flags = ()
    record.risk_flags = list(flags)
    record.is_high_risk = bool(flags)


DERIVED_FIELDS = ["village_code", "id_warnings", "risk_flags", "is_high_risk"]


def _derived_fields(record):
    return DERIVED_FIELDS + (["left_behind_type"] if record.category == Category.CHILD else [])


def _save(record, user, source, update_fields=None, moved_from=None):
    """Save with the history's user and source; a child's village statistics follow (and those
    of the village it left)."""
    record._history_user = user
    record._change_reason = source
    record.save(update_fields=update_fields)
    if record.category == Category.CHILD:
        village_statistics_refresh({record.village_code, moved_from or record.village_code}, reference_date())
        children_written.send(sender=type(record), pks=[record.pk])


@transaction.atomic
def record_create(*, model, user, data, source=HistorySource.WEB):
    """Register a new child, woman or elder from validated ``data`` (a form's cleaned_data).

    Side effects: claims the ID number in IdentityClaim (refused with where it is registered
    if taken, also by a simultaneous entry); computes village code, risk flags and type;
    writes the first history entry with ``source``; a 新增 audit event.
    """
    (record,) = _new_records(model, user, [data])
    if IdentityClaim.objects.filter(id_number=record.id_number).exists():
        raise ValidationError({"id_number": duplicate_id_message(record.id_number, user=user)})
    try:
        with transaction.atomic():
            _claim(record).save()
    except IntegrityError:
        raise ValidationError({"id_number": duplicate_id_message(record.id_number, user=user)}) from None
    _save(record, user, source)
    _audit(record, user, Action.CREATE, f"来源：{_source_label(source)}")
    return record


def _new_records(model, user, data_list, on=None):
    """Unsaved records of ``model`` from validated ``data_list``: see :func:`_ready`."""
    return _ready([model(**data) for data in data_list], user, on)


def _ready(created, user, on=None):
    """``created`` (unsaved records from validated data), created by ``user``, with their
    derived fields; refused if a village among them is locked against ``user``."""
    _require_unlocked(user, *{record.village_id: record.village for record in created}.values())
    today = timezone.localdate()
    for record in created:
        record.created_by = user
        derive(record, on=on, today=today)
    return created


def _claim(record):
    """The (unsaved) claim of ``record``'s ID number: one person, one record."""
    return IdentityClaim(**_claim_values(record))


def _claim_values(record):
    return {"id_number": record.id_number, "category": record.category, "village_id": record.village_id}


@transaction.atomic
def record_create_many(*, model, user, records, source=HistorySource.IMPORT, on=None):
    """Register many new records at once (the Excel import): what record_create does for one —
    ID claims, derived fields, history with ``source``, village statistics — in bulk queries.
    ``records`` are unsaved instances of ``model`` holding validated data (the import's form
    instances: building them again would cost as much as the insert).

    Refused as a whole with where the number is registered if any ID number is already claimed
    (also by an entry made since the rows were judged). Writes no per-record audit event: the
    import writes one 导入 event for the file, and every record's history names the import.
    """
    on = on or reference_date()
    created = _ready(records, user, on)
    numbers = [record.id_number for record in created]
    taken = next(
        bulk.filter_in(IdentityClaim.objects.order_by("pk").only("id_number"), "id_number", numbers), None
    )
    if taken is not None:
        message = duplicate_id_message(taken.id_number, user=user)
        raise ValidationError(message, code="claimed", params={"id_number": taken.id_number})
    try:
        with transaction.atomic():
            bulk.insert(IdentityClaim, [_claim_values(r) for r in created])
    except IntegrityError:
        raise ValidationError("有身份证号刚被他人登记，请重新预览后再导入。", code="claimed") from None
    bulk.insert_with_history(model, created, user=user, reason=source)
    if model is RECORD_MODELS[Category.CHILD]:
        village_statistics_refresh({record.village_code for record in created}, on)
        children_written.send(sender=model, pks=[record.pk for record in created])
    return created


def _source_label(source):
    return HistorySource(source).label if source in HistorySource.values else str(source)


def _audit(record, user, action, detail):
    """The audit event of a change of ``record``: named by its category and pk only — the audit
    administrator reads no personal data, not even a name (nor the field values changed)."""
    audit_record(
        user=user, action=action, obj=record, object_label=Category(record.category).label, detail=detail
    )


def _lock(record, version):
    """The record's row, locked for this transaction, or StaleRecord if its version moved on;
    refused with BUSY_MESSAGE if another save holds the row past the lock timeout."""
    try:
        current = type(record).objects.select_for_update().select_related("village").get(pk=record.pk)
    except OperationalError as error:
        if getattr(error.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise ValidationError(BUSY_MESSAGE, code="busy") from None
        raise
    if current.version != version:
        raise StaleRecord()
    return current


@transaction.atomic
def record_update(*, record, user, data, version, source=HistorySource.WEB):
    """Save the changed fields of ``data`` onto ``record`` if nobody saved it since ``version``.

    Side effects: refuses a stale save (StaleRecord); moves the ID claim if the ID number or
    village changed (refused if the new number is taken); recomputes derived fields; bumps
    the version; writes a history entry listing the changed fields and a 修改 audit event
    naming them (not their values). Saves only what changed.
    """
    current = _lock(record, version)
    if not current.is_active:
        raise ValidationError(EXITED_MESSAGE, code="exited")
    _require_unlocked(user, current.village, data.get("village", current.village))
    changed = [name for name, value in data.items() if getattr(current, name) != value]
    if not changed:
        return current
    # The stored number, not ``record``'s: a ModelForm has already written the new one onto it.
    claimed_number, moved_from = current.id_number, current.village_code
    for name in changed:
        setattr(current, name, data[name])
    if "id_number" in changed or "village" in changed:
        try:
            with transaction.atomic():
                IdentityClaim.objects.filter(id_number=claimed_number).update(
                    id_number=current.id_number, village=current.village
                )
        except IntegrityError:
            raise ValidationError({"id_number": duplicate_id_message(current.id_number, user=user)}) from None
    derive(current)
    current.version += 1
    _save(
        current,
        user,
        source,
        update_fields=[*changed, *_derived_fields(current), "version", "updated_at"],
        moved_from=moved_from,
    )
    names = "、".join(str(type(current)._meta.get_field(name).verbose_name) for name in changed)
    _audit(current, user, Action.UPDATE, f"修改：{names}（来源：{_source_label(source)}）")
    return current


STATUS_FIELDS = ["status", "exit_reason", "exit_date", "exit_note"]


def _save_status(record, user):
    """Save a change of status (exit or restore) with a new version and its history entry."""
    record.version += 1
    _save(record, user, HistorySource.WEB, update_fields=[*STATUS_FIELDS, "version", "updated_at"])
    return record


@transaction.atomic
def record_exit(*, record, user, reason, date, note, version):
    """Take a record out of the registry (never a hard delete): 父母返乡, 年满16周岁, 迁出, 死亡, 其他.

    Side effects: status 已退出 with reason, date and note; the ID stays claimed; version
    bumped; history entry; a 状态变更 audit event with the reason.
    """
    current = _lock(record, version)
    _require_unlocked(user, current.village)
    if current.status != RecordStatus.ACTIVE:
        raise ValidationError("该记录已退出，无需重复操作。")
    current.status, current.exit_reason, current.exit_date, current.exit_note = (
        RecordStatus.EXITED,
        reason,
        date,
        note,
    )
    _save_status(current, user)
    reason_label = ExitReason(reason).label if reason in ExitReason.values else reason
    _audit(current, user, Action.STATUS, f"退出台账：{reason_label}")
    return current


@transaction.atomic
def record_restore(*, record, user, note, version):
    """Bring an exited record back into the registry, if it still qualifies.

    Side effects: status 在册, exit fields cleared, ``note`` kept as the history reason's
    companion in exit_note; version bumped; history entry; a 状态变更 audit event. A child
    who no longer counts (e.g. has turned 16) is refused with the reason.
    """
    current = _lock(record, version)
    _require_unlocked(user, current.village)
    if current.status == RecordStatus.ACTIVE:
        raise ValidationError("该记录在册，无需恢复。")
    if current.category == Category.CHILD:
        verdict = rules.classify_child(
            birth_date=current.birth_date,
            father_status=current.father_status,
            mother_status=current.mother_status,
            reference_date=reference_date(),
        )
        if not verdict.is_left_behind:
            raise ValidationError("无法恢复：" + "；".join(verdict.reasons))
    current.status, current.exit_reason, current.exit_date = RecordStatus.ACTIVE, "", None
    current.exit_note = f"恢复：{note}"[:200]
    _save_status(current, user)
    _audit(current, user, Action.STATUS, "恢复在册")
    return current


def villages_editable_by(user):
    """The villages ``user`` may put records in."""
    return Region.objects.at_level("village").in_prefixes(policy.edit_prefixes(user))


def access_log_write(request, action, category, *, record_id=None, count=1, detail=""):
    """Record in the audit log that ``request.user`` saw or exported personal data (who, what,
    when, from where): ``action`` is an AuditEvent.Action (查看, 列表, 查看历史, 导出)."""
    audit_record(
        request=request,
        action=action,
        object_type=RECORD_MODELS[category]._meta.label_lower,
        object_id=record_id,
        object_label=Category(category).label,
        count=count,
        detail=detail,
    )


def display_value(field, value):
    """A record field's value as people read it — a choice's label, 是/否, a list joined with 、
    (assistance codes as labels) — and anything else as it is. The detail page, the history and
    the xlsx export all show values through this one function."""
    if isinstance(value, list):
        labels = dict(Assistance.choices) if field.name == "assistance" else {}
        return "、".join(str(labels.get(v, v)) for v in value)
    if field.choices:
        return "" if value in (None, "") else dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _display(field, value):
    shown = display_value(field, value)
    return "（空）" if shown in (None, "") else str(shown)


def mask_personal(name, value):
    """``value`` of field ``name`` as a member-unit liaison sees it: ID numbers and phones masked,
    a birth date shown by its year only (the masked ID's hidden digits are the birth date).
    The one rule of what a liaison sees, used by the pages and the history alike."""
    if value and name == "birth_date":
        return f"{value.year}年"
    if value and name.endswith("id_number"):
        return mask_id_number(value)
    if value and name.endswith("phone"):
        return mask_phone(value)
    return value


def _related_names(model, changes):
    """The names of the objects a changed foreign key (the village) points to, keyed by
    (field name, pk): one query per related model, however long the history."""
    wanted = {}
    for change in changes:
        field = model._meta.get_field(change.field)
        if field.is_relation:
            wanted.setdefault(field, set()).update(v for v in (change.old, change.new) if v is not None)
    return {
        (field.name, obj.pk): str(obj)
        for field, pks in wanted.items()
        for obj in field.related_model._default_manager.filter(pk__in=pks)
    }


def history_entries(record, *, masked=False):
    """The record's history, newest first: who, when, source, and each changed field before → after.

    With ``masked`` (a member-unit liaison), ID and phone numbers are masked here, server-side.
    """
    versions = list(record.history.select_related("history_user").order_by("-history_date", "-history_id"))
    diffs = [
        newer.diff_against(older).changes if older is not None else []
        for newer, older in zip(versions, [*versions[1:], None], strict=True)
    ]
    related = _related_names(type(record), [change for changes in diffs for change in changes])
    entries = []
    for newer, diff in zip(versions, diffs, strict=True):
        changes = []
        for change in diff:
            if change.field in DERIVED_FIELDS or change.field == "left_behind_type":
                continue
            field = type(record)._meta.get_field(change.field)
            old, new = change.old, change.new
            if field.is_relation:
                old, new = related.get((field.name, old), old), related.get((field.name, new), new)
            if masked:
                old, new = mask_personal(field.name, old), mask_personal(field.name, new)
            changes.append((field.verbose_name, _display(field, old), _display(field, new)))
        entries.append(
            {
                "at": newer.history_date,
                "user": newer.history_user,
                "type": {"+": "登记", "~": "修改", "-": "删除"}[newer.history_type],
                "source": HistorySource(newer.history_change_reason).label
                if newer.history_change_reason in HistorySource.values
                else (newer.history_change_reason or ""),
                "changes": changes,
            }
        )
    return entries


def mask_id_number(number):
    """410922********1234: region and last four digits only."""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}" if len(number) > 10 else "*" * len(number)


def mask_phone(number):
    """138****5678."""
    return f"{number[:3]}****{number[-4:]}" if len(number) >= 8 else "*" * len(number)
