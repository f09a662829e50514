"""The survey's workflows as tables (workflow/__init__.py): a village return's and a rectification
item's. The services move through these rows; the pages show their buttons; the demo walks them.
Who may is a policy predicate; nothing else in the code names a next state.
"""

from accounts import policy
from registry.codes import ancestor_code
from registry.models import Region
from survey.models import RectificationStatus, ReturnAction, ReturnState
from workflow import Transition, TransitionRefused, Workflow


class SupervisionRefused(TransitionRefused):
    """A supervision step the state or the policy does not allow (survey/supervision.py)."""


S = ReturnState


def _region(code, level):
    """The region at ``level`` above ``code``, as the policy's predicates read it (its code and
    level): built, not fetched, so a list asks no query per row."""
    return Region(code=ancestor_code(code, level), level=level)


def may_submit(user, ret):
    return policy.can_submit_return(user, ret.village)


def may_review(user, ret):
    return policy.can_review_villages(user, _region(ret.village_code, "township"))


def may_approve_county(user, ret):
    return policy.can_approve_townships(user, _region(ret.village_code, "county"))


_SUBMIT_REFUSAL = "只有本村的村干部可以提交本村报表。"
# The action a return's event records (ReturnEvent.action, ReturnAction) where it differs from
# the table's key (the key is the URL's: /survey/returns/<pk>/send_back/).
EVENT_ACTION = {"send_back": ReturnAction.RETURN}


def event_action(action):
    return ReturnAction(EVENT_ACTION.get(action, action))


RETURN = Workflow(
    "village_return",
    [
        Transition(
            S.NOT_STARTED,
            "start",
            S.IN_PROGRESS,
            "开始填报",
            may_submit,
            "只有本村的村干部可以填报本村报表。",
        ),
        *(
            Transition(
                state,
                "submit",
                S.SUBMITTED,
                "提交本村报表",
                may_submit,
                _SUBMIT_REFUSAL,
                confirm="提交后本村报表交乡镇审核，审核期间不能再改动。确认提交？",
            )
            for state in (S.NOT_STARTED, S.IN_PROGRESS)
        ),
        *(
            Transition(
                state,
                "submit_zero",
                S.SUBMITTED,
                "提交零报告（本村经排查无留守人员）",
                may_submit,
                _SUBMIT_REFUSAL,
                confirm="零报告表示本村经排查没有任何留守人员。确认提交零报告？",
                style="outline-primary",
            )
            for state in (S.NOT_STARTED, S.IN_PROGRESS)
        ),
        Transition(
            S.SUBMITTED,
            "approve",
            S.TOWNSHIP_APPROVED,
            "审核通过",
            may_review,
            "只有本乡镇的审核员可以审核。",
            confirm="审核通过后本村记录将锁定，村干部不能再修改。确认审核通过？",
            style="success",
        ),
        Transition(
            S.SUBMITTED,
            "send_back",
            S.IN_PROGRESS,
            "退回",
            may_review,
            "只有本乡镇的审核员可以退回。",
            needs_reason=True,
            style="outline-danger",
        ),
        Transition(
            S.TOWNSHIP_APPROVED,
            "reopen",
            S.IN_PROGRESS,
            "重新打开",
            may_review,
            "只有本乡镇的审核员可以重新打开。",
            needs_reason=True,
            style="outline-danger",
        ),
        Transition(
            S.TOWNSHIP_APPROVED,
            "county_approve",
            S.COUNTY_APPROVED,
            "县级审核通过",
            may_approve_county,
            "只有本县的县级民政可以审核乡镇。",
            style="success",
        ),
        Transition(
            S.COUNTY_APPROVED,
            "reopen",
            S.IN_PROGRESS,
            "重新打开",
            may_approve_county,
            "县级已审核的报表只能由县级民政重新打开。",
            needs_reason=True,
            style="outline-danger",
        ),
    ],
    state_of=lambda ret: ret.state,
    state_label=lambda state: ReturnState(state).label,
    wrong_state=lambda action, state: f"报表当前为「{state}」，不能{event_action(action).label}。",
)


def _may_follow_up(user, item):
    return policy.can_approve_townships(user, _region(item.county_code, "county"))


def _may_inspect(user, item):
    return policy.can_inspect(user, _region(item.county_code, "county"))


R = RectificationStatus

RECTIFICATION = Workflow(
    "rectification",
    [
        Transition(
            R.OPEN, "done", R.DONE, "报送整改情况", _may_follow_up, "只有本县的县级民政可以报送整改情况。"
        ),
        Transition(
            R.DONE,
            "close",
            R.CLOSED,
            "销号",
            _may_inspect,
            "只有督导组成员可以销号。",
            confirm="销号后该事项结束。确认销号？",
            style="success",
        ),
        Transition(
            R.DONE,
            "reopen",
            R.OPEN,
            "退回整改",
            _may_inspect,
            "只有督导组成员可以退回整改。",
            style="outline-danger",
        ),
    ],
    state_of=lambda item: item.status,
    state_label=lambda state: RectificationStatus(state).label,
    wrong_state=lambda action, state: {
        "done": f"该事项当前为「{state}」。",
        "close": "只有已整改的事项可以销号。",
        "reopen": "只有已整改的事项可以退回。",
    }[action],
    refused=SupervisionRefused,
)
