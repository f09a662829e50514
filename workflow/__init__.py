"""One small workflow machine (DESIGN §7, STYLE item 13), for every state machine of the platform.

A workflow is a table of transitions: **(state, action) → next state, who may, what it requires**,
declared once beside the model it moves (``survey/workflows.py`` …). From that one declaration:

- the service asks ``workflow.check(user, obj, action)`` before it writes, and moves the object to
  the row's ``target`` (nothing else in the code names a next state);
- the page shows the buttons of ``workflow.allowed(user, obj)`` — exactly the actions the service
  would accept from this user now, so no button invites a refusal;
- permission predicates are the rows' ``may`` (plain functions of accounts.policy);
- the demo walks the same rows (``workflow.target``), so its history is one the services could write.

The pattern is pretalx's ``valid_next_states``, with the permission and the requirement beside it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError


class TransitionRefused(ValidationError):
    """A transition the state or the policy does not allow; the message says why in Chinese."""


@dataclass(frozen=True)
class Transition:
    source: str  # the state it leaves
    action: str  # a stable ASCII key: the URL's and the button's
    target: str  # the state it reaches
    label: str  # the button's words, and the verb of refusals (不能{label})
    may: Callable  # may(user, obj) → bool: who may, from accounts.policy
    refusal: str  # said to whoever may not
    needs_reason: bool = False  # a written reason is required
    confirm: str = ""  # the question a button asks before it posts ("" = none)
    style: str = "primary"  # the button's Bootstrap colour


class Workflow:
    def __init__(self, name, transitions, *, state_of, state_label, wrong_state, refused=TransitionRefused):
        """``state_of(obj)`` reads an object's state; ``state_label(state)`` names a state in Chinese;
        ``wrong_state(action, state_label)`` says why ``action`` cannot be taken in that state;
        ``refused`` is the TransitionRefused subclass the workflow's app raises."""
        self.name = name
        self.rows = {}
        for row in transitions:
            key = (row.source, row.action)
            if key in self.rows:
                raise ValueError(f"{name}: ({row.source}, {row.action}) declared twice")
            self.rows[key] = row
        self.actions = list(dict.fromkeys(row.action for row in transitions))
        self.state_of = state_of
        self.state_label = state_label
        self.wrong_state = wrong_state
        self.refused = refused

    def row(self, state, action):
        """The row for ``action`` from ``state``, or None."""
        return self.rows.get((state, action))

    def target(self, state, action):
        """Where ``action`` leads from ``state``; ValueError if the table has no such row."""
        row = self.row(state, action)
        if row is None:
            raise ValueError(f"{self.name}: no transition {action} from {state}")
        return row.target

    def sources(self, action):
        return [row.source for row in self.rows.values() if row.action == action]

    def label(self, action):
        return next(row.label for row in self.rows.values() if row.action == action)

    def check_who(self, user, obj, action):
        """Refuse ``user`` unless they may take ``action`` on ``obj`` — from its present state if the
        table has that row, else from any state (so the state's refusal, not the role's, is heard
        by someone who may act at another time)."""
        if action not in self.actions:
            raise self.refused(f"未知的操作：{action}")
        row = self.row(self.state_of(obj), action)
        candidates = [row] if row is not None else [r for r in self.rows.values() if r.action == action]
        if not any(r.may(user, obj) for r in candidates):
            raise self.refused(candidates[0].refusal)

    def check(self, user, obj, action):
        """The row ``user`` may take on ``obj`` for ``action`` now; TransitionRefused otherwise.

        Who may is asked before the state, so a person who may never do this hears why, whatever
        the state; one who may, hears what the state is."""
        self.check_who(user, obj, action)
        state = self.state_of(obj)
        row = self.row(state, action)
        if row is None:
            raise self.refused(self.wrong_state(action, self.state_label(state)))
        return row

    def allowed(self, user, obj):
        """The rows ``user`` may take on ``obj`` in its present state, in declaration order."""
        state = self.state_of(obj)
        return [row for (source, _), row in self.rows.items() if source == state and row.may(user, obj)]

    def rows_by_state(self, user, obj):
        """{state: the rows ``user`` may take from it}, asking each row's ``may`` once with ``obj`` —
        for a list of objects whose permissions are all decided alike (one inspection's items)."""
        by_state = {}
        for (source, _), row in self.rows.items():
            if row.may(user, obj):
                by_state.setdefault(source, []).append(row)
        return by_state
