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


def child_level(*, risk_flags, guardian_assessment, health, last_visit_concerns=()):
    """(rank, reasons): the level a child's facts call for and why, most urgent first.

    ``reasons`` is a tuple of (rank, text). Facts: the registry's red flags, the guardianship
    assessment and health on the record, and what the last visit found (``last_visit_concerns``,
    the labels of its areas of concern). A child with no such fact is 四级 (stable).
    """
    found = [(_FLAG_RANK[flag], flag) for flag in risk_flags if flag in _FLAG_RANK]
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
