"""The demo's care history (issue 15 §8): a year of home visits for every demo child, with about one
child in eight overdue and one in seven due this week, a few concerns found, and one reviewer's
override — so that every care board shows something on first login, and cadre1's village has
visits due this week.

Deterministic: each child's history comes from a generator seeded with its ID number, and dates
count back from the day the demo is loaded. Written in bulk (the registry's demo went in the same
way); every child's level and clock are then recomputed by the one service (care_refresh).
"""

import datetime
import random

from accounts.models import Role, User
from care.models import ChildCare, Visit, VisitWay
from care.services import care_refresh, level_override_set, levels
from registry import bulk
from registry.choices import RecordStatus
from registry.codes import ancestor_code
from registry.models import Child, RegionLevel
from workflow import clock

HISTORY_DAYS = 365
# A year's visits (up to a dozen) for every child of the demo cadres' county; the last two
# elsewhere — enough for every board and clock, and a demo that loads in seconds.
MOST_VISITS = 12
MOST_VISITS_ELSEWHERE = 2
HOME_DUE = 3  # children of each demo cadre's village whose visit falls due this week

_WAYS = [(VisitWay.HOME, 0.7), (VisitWay.PHONE, 0.15), (VisitWay.VIDEO, 0.1), (VisitWay.SCHOOL, 0.05)]
_MET = ["祖母", "祖父", "儿童本人、祖母", "儿童本人、祖父", "监护人", "儿童本人、监护人"]
_CONCERNS = {
    "health": ["近期感冒发烧，已就医", "视力下降，建议配镜", "牙齿龋坏，需看牙医"],
    "study": ["成绩下滑，作业常未完成", "偶有旷课，已与班主任联系"],
    "mind": ["性格内向，想念父母", "与同学有矛盾，情绪低落"],
    "safety": ["住房屋顶漏雨", "家附近坑塘无护栏"],
    "guardianship": ["祖母年迈，照料吃力", "监护人常外出打零工，孩子独自在家"],
}
_NEEDS = ["学习辅导", "心理疏导", "生活物资", "联系父母视频通话", "医疗救助"]


def _pick(rng, weighted):
    point, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if point < total:
            return value
    return weighted[-1][0]


def _last_visit(rng, interval, today, *, due_this_week=False):
    """The date of a child's last visit: overdue for about 1 in 8, due this week for about 1 in 7."""
    draw = 0.2 if due_this_week else rng.random()
    if draw < 0.12:
        return today - datetime.timedelta(days=interval + rng.randint(1, 30))
    if draw < 0.27:
        return today - datetime.timedelta(days=interval - rng.randint(0, min(6, interval - 1)))
    return today - datetime.timedelta(days=rng.randint(0, max(0, interval - 8)))


def _findings(rng, rank):
    """A visit's findings: mostly fine; more often a concern for a child at a higher level."""
    share = {1: 0.35, 2: 0.25, 3: 0.1, 4: 0.04}[rank]
    if rng.random() >= share:
        return {}
    areas = ["health", "study", "mind"] + (["safety", "guardianship"] if rank <= 2 else [])
    area = rng.choice(areas)
    return {
        f"{area}_concern": True,
        f"{area}_note": rng.choice(_CONCERNS[area]),
        "needs": rng.choice(_NEEDS),
        "next_step": "下次走访时跟进",
    }


def _history(child, rank, interval, today, recorder, *, due_this_week, most):
    rng = random.Random(int(child["id_number"][:17]))
    day = _last_visit(rng, interval, today, due_this_week=due_this_week)
    start = today - datetime.timedelta(days=HISTORY_DAYS)
    rows = []
    while day >= start and len(rows) < most:
        way = _pick(rng, _WAYS)
        # The last visit of a child due this week in a cadre's village finds nothing new: its
        # level, and so its due date, stay as the registry's facts make them.
        quiet = due_this_week and not rows
        rows.append(
            {
                "child_id": child["pk"],
                "village_code": child["village_code"],
                "visited_on": day,
                "way": way,
                "met": "班主任、儿童本人" if way == VisitWay.SCHOOL else rng.choice(_MET),
                "recorded_by_id": recorder,
                **({} if quiet else _findings(rng, rank)),
            }
        )
        day -= datetime.timedelta(days=max(1, interval + rng.randint(-3, 3)))
    return rows


def _recorders(city):
    """The user who records the visits of each village: its cadre, else its township's reviewer."""
    by_region = dict(
        User.objects.filter(role__in=[Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER], is_active=True)
        .order_by("pk")
        .values_list("region__code", "pk")
    )
    return lambda village_code: (
        by_region.get(village_code) or by_region.get(ancestor_code(village_code, RegionLevel.TOWNSHIP))
    )


def demo_care_load(*, city, today=None):
    """Give every child of ``city`` its care row, and, unless the city has visits already, a year of
    visits and one override by the demo township reviewer. Returns the number of visits written."""
    today = today or clock.today()
    children = Child.objects.in_region(city).filter(status=RecordStatus.ACTIVE)
    care_refresh(children.exclude(pk__in=ChildCare.objects.values("child_id")).values_list("pk", flat=True))
    if Visit.objects.in_region(city).exists():
        return 0
    level_rows = levels()
    ranks = dict(ChildCare.objects.in_region(city).values_list("child_id", "computed_rank"))
    homes = set(
        User.objects.filter(role=Role.VILLAGE_CADRE, region__code__startswith=city.prefix).values_list(
            "region__code", flat=True
        )
    )
    recorder = _recorders(city)
    home_counties = {ancestor_code(code, RegionLevel.COUNTY) for code in homes}
    rows, due_at_home = [], {}
    for child in children.order_by("village_code", "pk").values("pk", "village_code", "id_number"):
        rank = ranks[child["pk"]]
        home = child["village_code"] in homes and due_at_home.get(child["village_code"], 0) < HOME_DUE
        if home:
            due_at_home[child["village_code"]] = due_at_home.get(child["village_code"], 0) + 1
        who = recorder(child["village_code"])
        if who is None:
            continue
        most = (
            MOST_VISITS
            if ancestor_code(child["village_code"], RegionLevel.COUNTY) in home_counties
            else MOST_VISITS_ELSEWHERE
        )
        interval = level_rows[rank].visit_interval_days
        rows += _history(child, rank, interval, today, who, due_this_week=home, most=most)
    bulk.insert(Visit, rows)
    care_refresh(children.values_list("pk", flat=True))
    _demo_override(city, today)
    return len(rows)


def _demo_override(city, today):
    """The demo township reviewer raises one child of cadre1's village to 二级 for three weeks."""
    reviewer = User.objects.filter(username="township", role=Role.TOWNSHIP_REVIEWER).first()
    cadre = User.objects.filter(username="cadre1", role=Role.VILLAGE_CADRE).select_related("region").first()
    if reviewer is None or cadre is None or not cadre.region.code.startswith(city.prefix):
        return
    care = (
        ChildCare.objects.in_region(cadre.region)
        .in_register()
        .filter(computed_rank__gte=3)
        .order_by("child")
        .first()
    )
    if care is None:
        return
    level_override_set(
        child=care.child,
        user=reviewer,
        rank=2,
        reason="祖母近日住院，孩子暂由邻居照看，临时提高关注",
        until=today + datetime.timedelta(days=21),
        today=today,
    )
