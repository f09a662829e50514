"""The care loop's rules (DESIGN §7), as small explained functions like registry/rules.py.

A child's risk level is the most urgent of the levels its facts call for; each fact found is a
reason, kept with the level it calls for, so the page can say why. The level's names and visit
intervals are data (care.models.RiskLevel); these rules speak in ranks 1 (一级) to 4 (四级).
"""

from registry import rules as registry_rules
from registry.choices import GuardianAssessment, HealthStatus

URGENT, HIGH, WATCH, STABLE = 1, 2, 3, 4
RANKS = (URGENT, HIGH, WATCH, STABLE)

# The levels as shipped: rank → (name, colour, meaning, visit interval in days). No national
# visit frequency exists; these are the city's defaults, kept as care.RiskLevel rows that an
# administrator edits (a rank missing from the table falls back to its default here).
DEFAULT_LEVELS = {
    URGENT: ("一级", "red", "处于危险之中或无人监护，须立即关注", 7),
    HIGH: ("二级", "orange", "存在较高风险（监护能力不足、重病残疾、辍学等）", 15),
    WATCH: ("三级", "yellow", "需要关注（监护一般或待评估、患病等）", 30),
    STABLE: ("四级", "green", "情况稳定", 90),
}

# Red flags the registry raises (registry.rules.child_red_flags) and the level each calls for.
_FLAG_RANK = {
    registry_rules.FLAG_NO_GUARDIAN: URGENT,
    registry_rules.FLAG_PARENTS_MISSING: URGENT,
    registry_rules.FLAG_GUARDIAN_INCAPABLE: HIGH,
    registry_rules.FLAG_ILL_OR_DISABLED: HIGH,
    registry_rules.FLAG_DROPPED_OUT: HIGH,
}
# A visit's concern in these areas calls for 二级; in the others, 三级 (models.AREAS' labels).
_SERIOUS_AREAS = ("监护", "安全")
_ASSESSMENT_REASONS = {
    GuardianAssessment.FAIR: "监护情况一般",
    GuardianAssessment.PENDING: "监护情况尚未评估",
}


def child_level(*, risk_flags, guardian_assessment, health, last_visit_concerns=(), open_cases=()):
    """(rank, reasons): the level a child's facts call for and why, most urgent first.

    ``reasons`` is a tuple of (rank, text). Facts: the registry's red flags, the guardianship
    assessment and health on the record, what the last visit found (``last_visit_concerns``, the
    labels of its areas of concern) and the child's open cases (``open_cases``, their urgencies:
    an urgent one calls for 一级, any other for 二级). A child with no such fact is 四级 (stable).
    """
    found = [(_FLAG_RANK[flag], flag) for flag in risk_flags if flag in _FLAG_RANK]
    if "urgent" in open_cases:
        found.append((URGENT, "有紧急强制报告尚未结案"))
    elif open_cases:
        found.append((HIGH, "有强制报告尚未结案"))
    if guardian_assessment in _ASSESSMENT_REASONS:
        found.append((WATCH, _ASSESSMENT_REASONS[guardian_assessment]))
    if health == HealthStatus.ILL:
        found.append((WATCH, "患病"))
    found.extend(_visit_reasons(tuple(last_visit_concerns)))
    if not found:
        return STABLE, ((STABLE, "未见风险因素"),)
    found.sort(key=lambda item: item[0])
    return found[0][0], tuple(found)


def _visit_reasons(concerns):
    if not concerns:
        return []
    text = "最近一次走访发现" + "、".join(concerns) + "问题"
    serious = [area for area in concerns if area in _SERIOUS_AREAS]
    if len(serious) == len(_SERIOUS_AREAS):
        return [(URGENT, text)]
    if serious or len(concerns) >= 2:
        return [(HIGH, text)]
    return [(WATCH, text)]


# --- cases: deadlines and escalation ------------------------------------------------------------

# Hours each step of a case may take, from 国发〔2016〕13号's chain and the city's practice
# (受理 within 24 h when urgent, 72 h otherwise; 评估 within 7 days and a help plan within 15
# days of acceptance; a child reported but not registered is registered, or the village says why,
# within 7 days). Kept as care.CaseDeadline rows an administrator edits; a step missing from the
# table falls back to its default here.
DEFAULT_CASE_HOURS = {
    "accept_urgent": 24,
    "accept_normal": 72,
    "assess": 7 * 24,
    "plan": 15 * 24,
    "provisional": 7 * 24,
}


def case_step(state, urgency):
    """The step whose deadline runs in ``state`` (None: no clock runs), and what it counts from:
    "reported" (the report's time) or "accepted" (the acceptance's)."""
    if state == "reported":
        return ("accept_urgent" if urgency == "urgent" else "accept_normal"), "reported"
    if state == "disposing":
        return "assess", "accepted"
    if state == "assessed":
        return "plan", "accepted"
    return None, None


def escalation(deadline_at, step_hours, now):
    """0 on time; 1 (the county's board) once past the deadline; 2 (the city's board) once past it
    by the step's own length again (a 24-hour step a day late, a 7-day step a week late)."""
    if deadline_at is None or now <= deadline_at:
        return 0
    late_hours = (now - deadline_at).total_seconds() / 3600
    return 2 if late_hours >= step_hours else 1


# 国发〔2016〕13号's three grounds for applying to revoke guardianship, as the case shows them.
REVOCATION_GROUNDS = (
    "经训诫、告诫仍不履行监护职责，致使未成年人处于无人监护状态",
    "拒不履行监护职责六个月以上",
    "实施家庭暴力、虐待或遗弃，造成未成年人严重伤害",
)


def revocation_grounds(*, kind, admonitions, open_days, serious_harm):
    """Which of the three grounds a case may meet, in words: the system says when, people decide.

    ``admonitions``: 训诫 recorded among the case's disposals; ``open_days``: days since the report
    while the case is still open; ``serious_harm``: the assessment found serious harm."""
    neglect = kind in ("unsupervised", "guardian_fails")
    grounds = []
    if neglect and admonitions >= 1 and open_days >= 30:
        grounds.append(REVOCATION_GROUNDS[0])
    if neglect and open_days >= 183:
        grounds.append(REVOCATION_GROUNDS[1])
    if serious_harm:
        grounds.append(REVOCATION_GROUNDS[2])
    return tuple(grounds)
