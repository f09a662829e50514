"""The care loop's workflows as tables (workflow/__init__.py): a case's (强制报告 → 受理 → 应急处置 →
评估 → 帮扶 → 结案, or 不予受理) and a referral's (转介 → 接收 → 办结, or 退回). The services move
through these rows; the pages show their buttons; the demo walks them. Who may is a policy predicate.
"""

from accounts import policy
from care.models import CaseState, ReferralState
from workflow import Transition, Workflow

S = CaseState


def _may_handle(user, case):
    return policy.can_handle_case(user, case)


def _may_close(user, case):
    return policy.can_approve_case_closing(user, case)


_HANDLERS = "只有本乡镇的审核员（儿童督导员）或本县民政可以办理该个案（涉侵害个案由县级民政办理）。"

CASE = Workflow(
    "case",
    [
        Transition(
            S.REPORTED,
            "accept",
            S.DISPOSING,
            "受理",
            _may_handle,
            _HANDLERS,
            confirm="受理后须立即开展应急处置，并在期限内完成评估。确认受理？",
            style="success",
        ),
        Transition(
            S.REPORTED,
            "reject",
            S.REJECTED,
            "不予受理",
            _may_handle,
            _HANDLERS,
            needs_reason=True,
            confirm="不予受理须写明理由，该报告将结束。确认不予受理？",
            style="outline-danger",
        ),
        Transition(S.DISPOSING, "assess", S.ASSESSED, "提交评估", _may_handle, _HANDLERS),
        Transition(S.ASSESSED, "plan", S.HELPING, "确定帮扶计划", _may_handle, _HANDLERS),
        Transition(
            S.HELPING,
            "request_close",
            S.CLOSING,
            "申请结案",
            _may_handle,
            _HANDLERS,
            needs_reason=True,
            style="outline-primary",
        ),
        Transition(
            S.CLOSING,
            "approve_close",
            S.CLOSED,
            "批准结案",
            _may_close,
            "只有本县的县级民政可以批准结案。",
            confirm="结案后个案不再跟进。确认批准结案？",
            style="success",
        ),
        Transition(
            S.CLOSING,
            "return_close",
            S.HELPING,
            "退回继续帮扶",
            _may_close,
            "只有本县的县级民政可以退回结案申请。",
            needs_reason=True,
            style="outline-danger",
        ),
    ],
    state_of=lambda case: case.state,
    state_label=lambda state: CaseState(state).label,
    wrong_state=lambda action, state: f"该个案当前为「{state}」，不能{CASE.label(action)}。",
)


R = ReferralState


def _may_answer(user, referral):
    return policy.can_answer_referral(user, referral)


_UNIT_ONLY = "只有接收转介的成员单位联络员可以办理。"

REFERRAL = Workflow(
    "referral",
    [
        Transition(R.SENT, "accept", R.ACCEPTED, "接收办理", _may_answer, _UNIT_ONLY, style="success"),
        Transition(
            R.SENT,
            "decline",
            R.DECLINED,
            "退回",
            _may_answer,
            _UNIT_ONLY,
            needs_reason=True,
            style="outline-danger",
        ),
        Transition(R.ACCEPTED, "complete", R.DONE, "办结", _may_answer, _UNIT_ONLY, needs_reason=True),
    ],
    state_of=lambda referral: referral.state,
    state_label=lambda state: ReferralState(state).label,
    wrong_state=lambda action, state: f"该转介当前为「{state}」，不能{REFERRAL.label(action)}。",
)
