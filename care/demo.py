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

from django.utils import timezone

from accounts.models import Role, User
from care import cases, hotline
from care import workers as workers_services
from care.models import CareWorker, CareWorkerKind, Case, CaseEvent, ChildCare, Visit, VisitWay
from care.services import care_refresh, level_override_set, levels
from registry import bulk
from registry.choices import RecordStatus
from registry.codes import ancestor_code, prefix
from registry.models import Child, Region, RegionLevel
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


def _home_villages(city):
    """The codes of the villages of ``city`` that have a cadre account (the demo cadres')."""
    return set(
        User.objects.filter(role=Role.VILLAGE_CADRE, region__code__startswith=city.prefix).values_list(
            "region__code", flat=True
        )
    )


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
    homes = _home_villages(city)
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
    demo_cases_load(city=city)
    demo_people_load(city=city, today=today)
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


# --- reports, cases and referrals ---------------------------------------------------------------

# Reports the demo files, walked as far as their target state by the services (care/cases.py), at
# past times so that the timelines read as real ones: (kind, urgency, target state, days ago,
# description, referral unit code or "").
_REPORTS = [
    ("dropout", "normal", "reported", 1, "孩子已两周没有去学校，祖母说劝不动。", ""),
    ("dropout", "normal", "reported", 6, "初二学生外出打工，学校多次联系未果。", ""),
    ("ill_untreated", "urgent", "reported", 0, "孩子高烧三天，祖父母无力送医。", ""),
    ("unsupervised", "urgent", "reported", 3, "父母外出后孩子独自在家居住，邻居发现已三天无人照看。", ""),
    ("domestic_violence", "urgent", "disposing", 2, "学校发现孩子身上多处淤青，疑似被监护人打伤。", "police"),
    ("guardian_fails", "normal", "disposing", 12, "监护人长期酗酒，孩子吃饭无人管。", "women_federation"),
    ("dropout", "normal", "disposing", 4, "孩子辍学在家，沉迷手机。", "education"),
    ("ill_untreated", "normal", "assessed", 10, "孩子患先天性心脏病，家庭无力医治。", "health"),
    ("harm", "urgent", "assessed", 20, "孩子被同村成年人殴打受伤。", "police"),
    ("dropout", "normal", "assessed", 25, "孩子初一辍学，随亲戚外出。", "education"),
    ("guardian_fails", "normal", "helping", 40, "祖母瘫痪在床，孩子无人照料。", "civil_affairs"),
    ("dropout", "normal", "helping", 35, "孩子厌学逃课。", "education"),
    ("other", "normal", "helping", 50, "孩子情绪低落，多次说想离家出走。", "health"),
    ("unsupervised", "normal", "closing", 60, "孩子夜不归宿，监护人不知去向。", "education"),
    ("dropout", "normal", "closing", 70, "孩子辍学半年。", "education"),
    ("ill_untreated", "normal", "closed", 90, "孩子骨折未及时就医。", "health"),
    ("dropout", "normal", "closed", 120, "孩子辍学后已返校。", "education"),
    ("guardian_fails", "normal", "closed", 150, "父母离异后均不管孩子。", "women_federation"),
    ("other", "normal", "rejected", 15, "反映孩子沉迷网络游戏。", ""),
    ("dropout", "normal", "rejected", 30, "反映孩子转学后未到校（经核实已在外地入学）。", ""),
]
_ORDER = ["reported", "disposing", "assessed", "helping", "closing", "closed"]


def _actors(code):
    """The township reviewer and the county officer of a village (the demo has one for each)."""
    township = ancestor_code(code, RegionLevel.TOWNSHIP)
    county = ancestor_code(code, RegionLevel.COUNTY)
    users = {
        user.region.code: user
        for user in User.objects.filter(
            role__in=[Role.TOWNSHIP_REVIEWER, Role.COUNTY_OFFICER], region__code__in=[township, county]
        )
        .select_related("region")
        .order_by("-pk")
    }
    return users.get(township), users.get(county)


def _reporter(child, kind):
    """Who files a report: a school's liaison for schooling, the village's cadre (or the township) else."""
    if kind == "dropout":
        liaison = User.objects.filter(role=Role.LIAISON, organisation__code="education").first()
        if liaison is not None:
            return liaison
    cadre = User.objects.filter(role=Role.VILLAGE_CADRE, region=child.village_id).first()
    return cadre or _actors(child.village_code)[0]


_NEED = {
    "education": "劝返复学，落实控辍保学",
    "health": "协调就医，落实医疗救助",
    "police": "查处侵害行为，核查监护人情况",
    "women_federation": "开展家庭教育指导",
    "civil_affairs": "落实临时救助和监护指导",
}


def _walk(case, target, township, county, start, unit):
    """Take ``case`` from 待受理 to ``target`` through the services, hours to days apart; refer it
    to ``unit`` on acceptance, and let the unit's liaison (where the demo has one) answer."""
    handler = county if case.sensitive else township
    if target == "rejected":
        reason = "经核实不属于需要保护的情形，已告知报告人。"
        cases.case_reject(user=handler, case=case, reason=reason, now=start + datetime.timedelta(hours=5))
        return
    at = start
    for step in _ORDER[1 : _ORDER.index(target) + 1]:
        at += datetime.timedelta(hours=6) if step == "disposing" else datetime.timedelta(days=3)
        day = timezone.localdate(at)
        if step == "disposing":
            case = cases.case_accept(user=handler, case=case, now=at)
            kind = "escort_relative" if case.sensitive else "admonish"
            cases.case_dispose(user=handler, case=case, kind=kind, note="已联系监护人", now=at)
            if unit is not None:
                due = day + datetime.timedelta(days=10)
                referral = cases.referral_create(
                    user=handler, child=case.child, case=case, unit=unit, need=_NEED[unit.code], due_on=due,
                    now=at, today=day,
                )  # fmt: skip
                _answer(referral, target, at)
        elif step == "assessed":
            case = cases.case_assess(
                user=handler, case=case, safety="暂无危险", guardianship="监护人已承诺履责",
                health="身体健康", now=at,
            )  # fmt: skip
        elif step == "helping":
            item = {
                "kind": "guardianship_guidance",
                "owner": "乡镇儿童督导员",
                "due_on": day + datetime.timedelta(days=30),
            }
            case = cases.case_plan(user=handler, case=case, items=[item], now=at, today=day)
        elif step == "closing":
            case = cases.case_request_close(user=handler, case=case, outcome="孩子已返校，监护到位。", now=at)
        else:
            case = cases.case_approve_close(user=county, case=case, now=at)


def _answer(referral, target, at):
    """The unit's liaison answers as far as the case has gone (units without a demo liaison do not)."""
    liaison = User.objects.filter(role=Role.LIAISON, organisation=referral.unit_id).first()
    if liaison is None or target == "disposing":
        return
    cases.referral_answer(
        user=liaison, referral=referral, action="accept", now=at + datetime.timedelta(hours=20)
    )
    if target in ("closing", "closed"):
        answer = "已办理：" + referral.need
        cases.referral_answer(
            user=liaison,
            referral=referral,
            action="complete",
            answer=answer,
            now=at + datetime.timedelta(days=2),
        )


def demo_cases_load(*, city, now=None):
    """The demo's reports and cases: one urgent case opened by the system for each child whose record
    says 无人监护 (most of them now late), and the reports of _REPORTS about children of the demo
    county, walked to every state, with referrals to several units; then the escalation. Skipped
    when the city has cases already. Returns the number of cases."""
    if Case.objects.in_region(city).exists():
        return 0
    now = now or timezone.now()
    children = Child.objects.in_region(city).filter(status=RecordStatus.ACTIVE)
    rng = random.Random(int(city.code))
    unguarded = cases.cases_open_for_unguarded(list(children.values_list("pk", flat=True)))
    for case in unguarded:
        # Opened over the last ten days; most already taken up by their township.
        target = _pick(rng, [("reported", 0.3), ("disposing", 0.45), ("assessed", 0.15), ("helping", 0.1)])
        steps = _ORDER.index(target)  # the walk takes 6 hours, then 3 days a step: none ends after now
        moment = now - datetime.timedelta(hours=(6 + 72 * (steps - 1) if steps else 0) + rng.randint(1, 240))
        deadline = moment + datetime.timedelta(hours=cases.deadline_hours()["accept_urgent"])
        Case.objects.filter(pk=case.pk).update(reported_at=moment, state_since=moment, deadline_at=deadline)
        CaseEvent.objects.filter(case=case).update(at=moment)
        case.refresh_from_db()
        township, county = _actors(case.village_code)
        _walk(case, target, township, county, moment, None)
    home = (
        User.objects.filter(username="cadre1", role=Role.VILLAGE_CADRE)
        .values_list("region__code", flat=True)
        .first()
    )
    county_prefix = prefix(home, RegionLevel.COUNTY) if home else city.prefix
    # The demo cadres' villages keep the visits due this week that demo_care_load gave them (a case
    # would change a child's level and so its due date), but for one abuse case in cadre1's village,
    # on its last child, which its cadre sees only as an open case (policy.can_read_case).
    uncased = children.exclude(cases__isnull=False)
    candidates = list(
        uncased.filter(village_code__startswith=county_prefix)
        .exclude(village_code__in=_home_villages(city))
        .order_by("pk")[:400]
    )
    in_home = uncased.filter(village_code=home).order_by("-pk").first() if home else None
    units = {unit.code: unit for unit in cases.member_units()}
    for kind, urgency, target, days_ago, description, unit_code in _REPORTS:
        if kind == "domestic_violence" and in_home is not None:
            child, in_home = in_home, None
        else:
            child = candidates.pop(rng.randrange(len(candidates)))
        start = now - datetime.timedelta(days=days_ago, hours=rng.randint(1, 12))
        reporter = _reporter(child, kind)
        case = cases.case_open(
            user=reporter, village=child.village, child=child, kind=kind, urgency=urgency,
            description=description, place=child.village.name, now=start,
        )  # fmt: skip
        township, county = _actors(child.village_code)
        _walk(case, target, township, county, start, units.get(unit_code))
    cases.case_escalate_all(now=now)
    return len(unguarded) + len(_REPORTS)


# --- who visits, the supervisors' diaries, the hotline -------------------------------------------

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["秀兰", "建国", "桂英", "志强", "玉梅", "海燕", "红霞", "国华", "丽娟", "春生", "美玲", "卫东"]
DIRECTOR_SHARE = 0.9  # about one village in ten has nobody named yet: the boards show the gap


def _person(rng):
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def demo_people_load(*, city, today=None):
    """Name a 儿童主任 for about nine villages in ten and a 儿童督导员 for every township (the demo
    cadres and reviewers for their own regions, with their accounts), write the demo township's
    督导日志 for the last three months, and log a few hotline calls. Skipped once the city has
    care workers. Bulk-written (appointments are history, not acts of the demo's users)."""
    today = today or clock.today()
    if CareWorker.objects.in_region(city).exists():
        return
    rng = random.Random(int(city.code) + 7)
    accounts = {
        (user.role, user.region.code): user
        for user in User.objects.filter(
            role__in=[Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER], region__isnull=False
        )
        .select_related("region")
        .order_by("pk")
    }
    officer = User.objects.filter(role=Role.COUNTY_OFFICER).order_by("pk").first()
    now = timezone.now()
    workers = []
    for region in (
        Region.objects.in_region(city)
        .filter(level__in=[RegionLevel.VILLAGE, RegionLevel.TOWNSHIP])
        .order_by("code")
    ):
        village = region.level == RegionLevel.VILLAGE
        account = accounts.get((Role.VILLAGE_CADRE if village else Role.TOWNSHIP_REVIEWER, region.code))
        if village and account is None and rng.random() >= DIRECTOR_SHARE:
            continue
        workers.append(
            CareWorker(
                kind=CareWorkerKind.DIRECTOR if village else CareWorkerKind.SUPERVISOR,
                region=region,
                region_code=region.code,
                name=account.display_name if account else _person(rng),
                phone=f"139{rng.randint(0, 99999999):08d}",
                user=account,
                since=today - datetime.timedelta(days=rng.randint(60, 900)),
                assigned_by=officer,
                assigned_at=now,
            )
        )
    CareWorker.objects.bulk_create(workers, batch_size=1000)
    _demo_diaries(city, today, rng)
    _demo_calls(city, now, rng)


def _demo_diaries(city, today, rng):
    reviewer = (
        User.objects.filter(username="township", role=Role.TOWNSHIP_REVIEWER).select_related("region").first()
    )
    if reviewer is None or not reviewer.region.code.startswith(city.prefix):
        return
    villages = list(Region.objects.in_region(reviewer.region).at_level(RegionLevel.VILLAGE).order_by("code"))
    month = today.replace(day=1)
    for _ in range(3):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
        visited = rng.sample(villages, min(len(villages), rng.randint(4, 8)))
        note = f"{month:%Y年%m月}督导{len(visited)}个村：走访记录齐全，个别村儿童主任需加强对三级儿童的走访。"
        workers_services.diary_record(
            user=reviewer, township=reviewer.region, month=month, villages=visited, note=note, today=today
        )


_CALLS = [
    ("neighbour", "report", "unsupervised", "urgent", "邻居反映孩子独自在家三天，父母外出后一直没有回来。"),
    ("child", "report", "domestic_violence", "urgent", "孩子来电说被继父打，身上有伤。"),
    ("parent", "consultation", "", "", "在外务工的母亲咨询孩子如何申请教育资助。"),
    ("school", "consultation", "", "", "老师咨询发现学生疑似受侵害时如何强制报告。"),
    ("relative", "consultation", "", "", "孩子的姑姑咨询能否办理委托监护。"),
]
_ANSWERS = {
    "parent": "已告知可向学校和县教育局学生资助中心申请，并告知所需材料。",
    "school": "已告知可直接拨打110并向本平台或乡镇报告，说明强制报告的内容和时限。",
    "relative": "已告知委托监护可由父母与受托人签订协议，并到村委会备案。",
}


def _demo_calls(city, now, rng):
    operator = User.objects.filter(username="hotline", role=Role.HOTLINE_OPERATOR).first()
    if operator is None:
        return
    villages = list(Region.objects.in_region(city).at_level(RegionLevel.VILLAGE).order_by("code")[:400])
    for hours, (caller, outcome, kind, urgency, summary) in enumerate(_CALLS, start=1):
        village = rng.choice(villages)
        hotline.hotline_call_log(
            user=operator,
            received_at=now - datetime.timedelta(hours=hours * 7),
            caller_kind=caller,
            callback_number=f"137{rng.randint(0, 99999999):08d}",
            region=village,
            summary=summary,
            outcome=outcome,
            answer=_ANSWERS.get(caller, ""),
            kind=kind,
            urgency=urgency or "normal",
            provisional_name=_person(rng) if outcome == "report" else "",
            now=now - datetime.timedelta(hours=hours * 7),
        )
