"""The city's minors-protection hotline (市未成年人保护热线, opened 2021-08-24): an operator logs a
call, matches it to a registered child or not, and turns it into a report (a case, care/cases.py)
or a consultation answered on the spot. The callback number is masked to everyone else."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from audit.services import Action, audit_record
from care import cases
from care.models import CallerKind, CallOutcome, HotlineCall, ReporterKind, Urgency
from registry.choices import RecordStatus
from registry.models import Child, RegionLevel
from registry.rules import check_phone, normalize_id_number

MATCHES_SHOWN = 10


def _require(condition, message):
    if not condition:
        raise ValidationError(message)


def hotline_match(*, user, id_number="", name="", village=None):
    """Registered children in the register a caller may mean: by ID number (exact, cleaned as the
    registry cleans it), or by name within ``village`` — at most MATCHES_SHOWN, for an operator."""
    _require(policy.can_take_calls(user), "只有热线接线员可以查找来电涉及的儿童。")
    children = Child.objects.filter(status=RecordStatus.ACTIVE).select_related("village")
    number = normalize_id_number(id_number or "")
    if number:
        return list(children.filter(id_number=number)[:MATCHES_SHOWN])
    if (name or "").strip() and village is not None:
        return list(children.in_region(village).filter(name=name.strip()).order_by("pk")[:MATCHES_SHOWN])
    return []


@transaction.atomic
def hotline_call_log(
    *,
    user,
    received_at,
    caller_kind,
    region,
    summary,
    outcome,
    callback_number="",
    child=None,
    answer="",
    kind="",
    urgency=Urgency.NORMAL,
    provisional_name="",
    now=None,
):
    """Log a hotline call; as a report (``outcome`` report: ``kind``, ``urgency``, the child or a
    provisional name, in a village) it opens a case through care.cases.case_open with the hotline as
    reporter; as a consultation it needs the ``answer`` given.

    Refused: someone not an operator, a call in the future, no summary, a bad callback number, a
    report without a village, a consultation without an answer. Side effects: the call; the case
    for a report; an audit event naming no caller."""
    now = now or timezone.now()
    _require(policy.can_take_calls(user), "只有热线接线员可以登记来电。")
    _require(received_at is not None and received_at <= now, "来电时间不能晚于现在。")
    _require(caller_kind in CallerKind.values, "请选择来电人。")
    _require(outcome in CallOutcome.values, "请选择处理结果。")
    _require(bool((summary or "").strip()), "请写明来电内容。")
    number, error = check_phone(callback_number or "")
    _require(error is None, error or "")
    _require(region is not None and policy.in_scope(user, region.code), "请选择来电涉及的地区。")
    case = None
    if outcome == CallOutcome.REPORT:
        _require(region.level == RegionLevel.VILLAGE, "转为强制报告时，请选择儿童所在的村（社区）。")
        case = cases.case_open(
            user=user,
            village=region,
            child=child,
            provisional_name="" if child else provisional_name,
            kind=kind,
            urgency=urgency,
            description=summary,
            reporter_kind=ReporterKind.HOTLINE,
            now=now,
        )
    else:
        _require(bool((answer or "").strip()), "咨询来电请写明解答内容。")
    call = HotlineCall.objects.create(
        received_at=received_at,
        operator=user,
        caller_kind=caller_kind,
        callback_number=number,
        region=region,
        region_code=region.code,
        summary=summary.strip(),
        child=child,
        outcome=outcome,
        case=case,
        answer=(answer or "").strip()[:300],
    )
    audit_record(
        action=Action.CREATE, user=user, obj=call, object_label="热线来电", detail=CallOutcome(outcome).label
    )
    return call

