"""Speed of the care loop at scale (issue 15, "Performance"): a township reviewer's lists of visits
overdue and due this week, a county officer's care board and the city office's care board, over
N children with 12 home visits each, and the server CPU of recording a visit.

    .venv/bin/python bench/care.py [--children N] [--database-url URL] [--requests R] [--keep] [--quick]

It drops and recreates its own database (default carebench), fills N children with bench/survey.py's
generator (its children_fill: bench/registry.py's rows, COPY, indexes rebuilt after), loads the
regions and the accounts as bench/survey.py does (one per village, township and county, as in
service), then gives every child its ChildCare row and 12 visits by COPY (foreign keys and indexes
built after the load, then VACUUM ANALYZE): the level the real rules (care.rules.child_level) give
the generated facts and the last visit's findings, 1 in 200 children raised a level by a reviewer
for some weeks, and the last visit placed so that about 12% are overdue and 15% due this week, as
the demo's care history (care/demo.py). With --keep, a database holding exactly N children of that
generator is reused (bench/survey.py's database too), and its care rows and visits if they are
there (N rows, at least 12 N visits); otherwise the care tables are emptied and loaded again.

Timed through Django's test client (DEBUG off), each role signed in through the login page, the
city office with a TOTP code too (_common.sign_in): each page R times after 2 warm-up requests,
median, p95 and queries per request, p95 under 300 ms at 1,000,000 children and one query count
for every request; for a page that misses, the slowest SQL statement and its EXPLAIN ANALYZE. Then
R + 2 visits recorded by POST of the visit form by the cadre of the township's largest village
(2 untimed), the server's CPU time per request (time.process_time() around the test-client call:
the view, the form, the service and the test client, not PostgreSQL's own work) under 50 ms at p95.
On a fresh load the boards' counts are checked against what the generator meant (children, levels,
due, overdue) and each list's 共 N 人 against the board; a recorded visit must move its child's
clock. --quick (for .ci/run): 2,000 children, 2 requests per page; timings are printed, not judged.

Reports: one case for every 20 children (50,000 at 1,000,000) in the mix of states the demo has,
a third of the open ones past their deadline, and a referral for every 50 children to the member
units — written by COPY (registry.bulk.insert) so the boards count them open and late.
"""

import argparse
import itertools
import json
import os
import random
import re
import sys
import time
from collections import Counter
from datetime import timedelta

import _common
from _common import stopwatch

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/carebench"
TARGET_P95_MS = 300
TARGET_CPU_MS = 50
WARMUP = 2
VISITS_PER_CHILD = 12
OVERRIDE_SHARE = 0.005
CITY_CODE = "410900000000"
PASSWORD = "bench-Only-2025"  # bench/survey.py's and bench/registry.py's
CARE_TABLE = "care_childcare"
VISIT_TABLE = "care_visit"
CARE_COLUMNS = (
    "child_id",
    "village_code",
    "in_register",
    "computed_rank",
    "reasons",
    "override_rank",
    "override_until",
    "counted_from",
    "last_visit_on",
    "visit_count",
    "updated_at",
)
VISIT_COLUMNS = (
    "child_id",
    "village_code",
    "visited_on",
    "way",
    "met",
    "guardianship_concern",
    "guardianship_note",
    "safety_concern",
    "safety_note",
    "health_concern",
    "health_note",
    "study_concern",
    "study_note",
    "mind_concern",
    "mind_note",
    "needs",
    "next_step",
    "recorded_by_id",
    "recorded_at",
    "correction_reason",
)
# A visit's way and whom it met, with rough weights (care/demo.py's mix); no comma or quote in any
# of these texts: the visit rows are written as CSV lines directly (12 M of them).
WAYS = (("home", 70), ("phone", 15), ("video", 10), ("school", 5))
MET = ("祖母", "祖父", "儿童本人、祖母", "儿童本人、祖父", "监护人", "儿童本人、监护人")
CONCERNS = {
    "health": "近期感冒发烧 已就医",
    "study": "成绩下滑 作业常未完成",
    "mind": "性格内向 想念父母",
    "safety": "家附近坑塘无护栏",
    "guardianship": "祖母年迈 照料吃力",
}
CONCERN_SHARE = {1: 0.35, 2: 0.25, 3: 0.1, 4: 0.04}  # of a visit finding something, by level


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=1_000_000, help="留守儿童条数（默认 1,000,000）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    parser.add_argument("--requests", type=int, default=20, help="每个页面计时请求数（另加 2 次预热）")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="库中已有恰好 N 条 bench/survey.py 生成的儿童记录时直接复用（关爱状态与走访齐全时也复用）",
    )
    args = _common.parse_args_quick(parser, children=2000, requests=2)
    if args.children < 1000 or args.requests < 1:
        parser.error("--children 至少 1000，--requests 至少 1")
    return args


# --- the care rows and visits ---------------------------------------------------------------


def _csv_text(text):
    return '"' + text.replace('"', '""') + '"'


class CareHistory:
    """Each child's ChildCare row and its visits as CSV lines, from the child's facts: the level by
    care.rules (cached per combination of facts), the visit clock placed by a seeded generator."""

    def __init__(self, today, level_rows, recorder, seed=150):
        from care import rules
        from care.models import AREAS
        from workflow import clock

        self.rules, self.clock = rules, clock
        self.today = today
        self.rng = random.Random(seed)
        self.intervals = {rank: level.visit_interval_days for rank, level in level_rows.items()}
        self.recorder = recorder  # village code → user pk
        self.levels = {}
        self.day = [str(today - timedelta(days=d)) for d in range(3000)]  # days before today
        self.stamp = [f"{day} 10:00:00+08" for day in self.day]
        self.now = f"{today} 10:00:00+08"
        self.ways = [way for way, weight in WAYS for _ in range(weight)]
        self.labels = dict(AREAS)
        self.quiet = "f,," * len(AREAS) + ","  # every area 正常, no needs, no next step
        self.found = {
            concern: ",".join(f"t,{_csv_text(note)}" if area == concern else "f," for area, _ in AREAS)
            + f",{_csv_text('心理疏导')},{_csv_text('下次走访时跟进')}"
            for concern, note in CONCERNS.items()
        }
        for text in (*MET, *CONCERNS.values()):
            assert "," not in text and '"' not in text, text
        self.states = Counter()  # visit state → in-register children, as meant
        self.ranks = Counter()  # level in force → in-register children, as meant
        self.overrides = 0

    def level(self, flags, assessment, health, concerns):
        key = (flags, assessment, health, concerns)
        if key not in self.levels:
            rank, reasons = self.rules.child_level(
                risk_flags=flags, guardian_assessment=assessment, health=health, last_visit_concerns=concerns
            )
            self.levels[key] = (rank, _csv_text(json.dumps([list(r) for r in reasons], ensure_ascii=False)))
        return self.levels[key]

    def child(self, pk, code, active, flags, assessment, health):
        """(ChildCare CSV line, [visit CSV lines]) of one child."""
        clock, rng = self.clock, self.rng
        base, _ = self.level(flags, assessment, health, ())
        last_area = None
        if rng.random() < CONCERN_SHARE[base]:
            areas = (
                ("health", "study", "mind", "safety", "guardianship")
                if base <= 2
                else ("health", "study", "mind")
            )
            last_area = areas[int(rng.random() * len(areas))]
        concerns = (self.labels[last_area],) if last_area else ()
        rank, reasons = self.level(flags, assessment, health, concerns)
        override = until = r"\N"
        in_force = rank
        if active and rank > 1 and rng.random() < OVERRIDE_SHARE:
            in_force = rank - 1
            override, until = str(in_force), str(self.today + timedelta(days=7 + int(rng.random() * 60)))
            self.overrides += 1
        interval = self.intervals[in_force]
        draw = rng.random()
        if draw < 0.12:  # overdue: up to a month past the due date
            offset = interval + 1 + int(rng.random() * 30)
        elif draw < 0.27:  # due this week
            offset = interval - int(rng.random() * min(7, interval))
        else:
            offset = int(rng.random() * max(1, interval - 7))
        if active:
            due_on = clock.visit_due_on(self.today - timedelta(days=offset), interval)
            self.states[clock.visit_state(due_on, self.today)] += 1
            self.ranks[in_force] += 1
        recorder = self.recorder[code]
        step = self.intervals[rank]
        visits, day = [], offset
        for index in range(VISITS_PER_CHILD):
            if index == 0:
                findings = self.found[last_area] if last_area else self.quiet
            elif rng.random() < CONCERN_SHARE[rank]:
                findings = self.found[("health", "study", "mind")[int(rng.random() * 3)]]
            else:
                findings = self.quiet
            way = self.ways[int(rng.random() * 100)]
            met = "班主任、儿童本人" if way == "school" else MET[int(rng.random() * len(MET))]
            visits.append(
                f"{pk},{code},{self.day[day]},{way},{met},{findings},{recorder},{self.stamp[day]},\n"
            )
            day += max(1, step - 3 + int(rng.random() * 7))
        care = (
            f"{pk},{code},{'t' if active else 'f'},{rank},{reasons},{override},{until},"
            f"{self.day[offset]},{self.day[offset]},{VISITS_PER_CHILD},{self.now}\n"
        )
        return care, visits


class _Lines:
    """An iterable of text lines as the file COPY reads, 100,000 lines a chunk."""

    def __init__(self, lines):
        self.lines = iter(lines)

    def read(self, size=-1):
        return "".join(itertools.islice(self.lines, _common.COPY_CHUNK))

    readline = read


def _copy_lines(table, columns, lines):
    from django.db import connection
    from psycopg2 import sql

    missing = _common.not_null_columns(table) - set(columns)
    if missing:
        raise SystemExit(f"{table} 的非空列未填：{', '.join(sorted(missing))}（表结构已变，请更新基准脚本）")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '\\N')").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(statement.as_string(cursor.connection), _Lines(lines))


def _foreign_keys_drop(*tables):
    """Drop the foreign keys of ``tables``; returns (table, name, definition) to add them back:
    one check of the whole table after the COPY instead of a trigger per row (24 M of them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
            """,
            [list(tables)],
        )
        keys = cursor.fetchall()
        for table, name, _ in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


def _foreign_keys_add(keys):
    from django.db import connection

    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def care_fill(today):
    """COPY every child's ChildCare row and 12 visits; returns the CareHistory (what was meant)."""
    from django.db import connection, transaction

    from accounts.models import User
    from care.models import ChildCare, Visit
    from care.services import levels

    recorder = dict(
        User.objects.filter(region__level="village", region__code__startswith=CITY_CODE[:4])
        .order_by("-pk")
        .values_list("region__code", "pk")
    )
    history = CareHistory(today, levels(), recorder)
    cares = []
    # The children are read first, whole: dropping the foreign keys below locks registry_child
    # until the load commits. Each child's facts are kept once per combination (a few hundred).
    facts = {}
    children = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, village_code, status = 'active', risk_flags, guardian_assessment, health"
            " FROM registry_child ORDER BY id"
        )
        while batch := cursor.fetchmany(50_000):
            for pk, code, active, flags, assessment, health in batch:
                key = (flags if isinstance(flags, str) else json.dumps(flags), assessment, health)
                if key not in facts:  # jsonb comes as text through Django's connection
                    facts[key] = (tuple(json.loads(key[0]) or ()), assessment, health)
                children.append((pk, sys.intern(code), active, facts[key]))

    def visit_lines():
        for pk, code, active, (flags, assessment, health) in children:
            care, visits = history.child(pk, code, active, flags, assessment, health)
            cares.append(care)
            yield from visits

    if ChildCare.objects.exists() or Visit.objects.exists():  # --keep with the care tables incomplete
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE care_visit, care_leveloverride, care_childcare, care_villagecarecounts CASCADE"
            )
    with transaction.atomic():
        keys = _foreign_keys_drop(CARE_TABLE, VISIT_TABLE)
        indexes = _common.indexes_drop(CARE_TABLE, VISIT_TABLE)
        with stopwatch("  生成并 COPY 走访记录"):
            _copy_lines(VISIT_TABLE, VISIT_COLUMNS, visit_lines())
        with stopwatch("  COPY 儿童关爱状态"):
            _copy_lines(CARE_TABLE, CARE_COLUMNS, cares)
        with stopwatch(f"  重建 {len(indexes)} 个索引与 {len(keys)} 个外键（整表校验）"):
            _common.indexes_create(indexes)
            _foreign_keys_add(keys)
    with stopwatch("  VACUUM ANALYZE"):
        _common.vacuum_analyze(CARE_TABLE, VISIT_TABLE)
    return history


CASES_PER_CHILD, REFERRALS_PER_CHILD = 1 / 20, 1 / 50
_CASE_STATES = [
    ("reported", 0.2), ("disposing", 0.25), ("assessed", 0.1), ("helping", 0.2), ("closing", 0.05),
    ("closed", 0.15), ("rejected", 0.05),
]  # fmt: skip


def cases_fill(total, seed=151):
    """COPY one case per 20 children and one referral per 50 (registry.bulk.insert); returns the count."""
    import datetime

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Organisation, OrganisationKind
    from care.models import SENSITIVE_KINDS, Case, Referral, ReportKind
    from registry import bulk
    from registry.models import Child

    rng = random.Random(seed)
    now = timezone.now()
    children = list(Child.objects.order_by("pk").values_list("pk", "village_id", "village_code"))
    picked = rng.sample(children, int(total * CASES_PER_CHILD))
    kinds = ReportKind.values
    states, weights = zip(*_CASE_STATES, strict=True)
    rows = []
    for pk, village_id, code in picked:
        kind = rng.choice(kinds)
        state = rng.choices(states, weights)[0]
        reported = now - datetime.timedelta(hours=rng.randint(1, 24 * 120))
        late = state in ("reported", "disposing", "assessed") and rng.random() < 1 / 3
        hours = -rng.randint(1, 200) if late else rng.randint(1, 300)
        clock_runs = state in ("reported", "disposing", "assessed")
        ended = state in ("closed", "rejected")
        rows.append({
            "child_id": pk, "village_id": village_id, "village_code": code, "kind": kind,
            "sensitive": kind in SENSITIVE_KINDS, "urgency": "urgent" if rng.random() < 0.2 else "normal",
            "reporter_kind": "village", "reported_at": reported, "description": "基准测试生成的报告",
            "state": state, "state_since": reported,
            "accepted_at": None if state in ("reported", "rejected") else reported,
            "deadline_at": now + datetime.timedelta(hours=hours) if clock_runs else None,
            "escalation": 1 if late else 0, "closed_at": reported if ended else None,
        })  # fmt: skip
    units = list(Organisation.objects.filter(kind=OrganisationKind.MEMBER_UNIT).values_list("pk", flat=True))
    if not units:
        from accounts.services import organisations_seed_member_units
        from registry.models import Region

        organisations_seed_member_units(city=Region.objects.get(code=CITY_CODE))
        units = list(
            Organisation.objects.filter(kind=OrganisationKind.MEMBER_UNIT).values_list("pk", flat=True)
        )
    officer = _any_user_pk()
    with transaction.atomic():
        bulk.insert(Case, rows)
        referred = rng.sample(children, int(total * REFERRALS_PER_CHILD))
        today = timezone.localdate()
        bulk.insert(Referral, [
            {
                "child_id": pk, "village_code": code, "unit_id": rng.choice(units), "need": "基准测试转介",
                "due_on": today + datetime.timedelta(days=rng.randint(-20, 30)),
                "state": rng.choice(["sent", "accepted", "done", "declined"]), "referred_by_id": officer,
                "referred_at": now,
            }
            for pk, _, code in referred
        ])  # fmt: skip
    _common.vacuum_analyze("care_case", "care_referral")
    return len(rows)


def _any_user_pk():
    from accounts.models import User

    return User.objects.order_by("pk").values_list("pk", flat=True).first()


def care_loaded(total):
    from care.models import ChildCare, Visit

    return ChildCare.objects.count() == total and Visit.objects.count() >= VISITS_PER_CHILD * total


def mix_summary(counts, level_rows):
    by_level = "，".join(f"{level_rows[r].name} {counts.by_rank[r]:,}" for r in level_rows)
    return f"在册 {counts.children:,} 人（{by_level}）；逾期 {counts.overdue:,}，本周应访 {counts.due:,}"


def check_as_meant(history, counts):
    """The city's board counts what the generator meant: children in the register, by level in
    force, overdue and due this week. Stops the bench on any difference."""
    from workflow import clock

    meant = (
        sum(history.ranks.values()),
        dict(sorted(history.ranks.items())),
        history.states[clock.OVERDUE],
        history.states[clock.DUE],
    )
    shown = (counts.children, {r: n for r, n in counts.by_rank.items() if n}, counts.overdue, counts.due)
    if meant != shown:
        raise SystemExit(f"全市关爱看板与写入的数据不符：写入 {meant}，看板 {shown}")
    print("核对：全市看板的在册人数、各等级人数、逾期与本周应访人数与写入的数据一致")


# --- accounts -------------------------------------------------------------------------------


def visit_cadre(township):
    """The cadre of ``township``'s village with the most children in the register, signed in with
    a password (bench/survey.py creates the other villages' accounts without one)."""
    from django.db.models import Count

    from accounts.models import Role, User
    from accounts.services import user_upsert
    from care.models import ChildCare
    from registry.models import Region

    code = (
        ChildCare.objects.in_register()
        .in_region(township)
        .order_by()
        .values("village_code")
        .annotate(n=Count("pk"))
        .order_by("-n", "village_code")
        .values_list("village_code", flat=True)
        .first()
    )
    if code is None:
        raise SystemExit(f"{township.name} 没有在册儿童，无法记录走访")
    village = Region.objects.get(code=code)
    user = User.objects.filter(region=village, role=Role.VILLAGE_CADRE).order_by("pk").first()
    username = user.username if user else f"bench_{code}"
    return user_upsert(
        username=username, role=Role.VILLAGE_CADRE, region=village, password=PASSWORD, name="村儿童主任"
    )


# --- measuring ------------------------------------------------------------------------------


def pages(office, officer, reviewer):
    """(page label, user label, user, url) of every page measured."""
    township, county = reviewer.region, officer.region
    return [
        (
            f"{township.name}逾期名单",
            "乡镇审核员",
            reviewer,
            f"/care/regions/{township.code}/children/?state=overdue",
        ),
        (
            f"{township.name}本周应访名单",
            "乡镇审核员",
            reviewer,
            f"/care/regions/{township.code}/children/?state=due",
        ),
        (f"{county.name}关爱看板", "县级民政", officer, f"/care/regions/{county.code}/"),
        ("全市关爱看板", "市民政局", office, f"/care/regions/{CITY_CODE}/"),
    ]


def run_pages(rows, requests):
    from django.test import Client

    clients, results = {}, []
    for page, label, user, url in rows:
        if label not in clients:
            clients[label] = Client()
            _common.sign_in(clients[label], user, PASSWORD)
        result = _common.measure(
            clients[label],
            url,
            page=page,
            user=label,
            requests=requests,
            warmup=WARMUP,
            target_ms=TARGET_P95_MS,
        )
        results.append(result)
        print(f"  {label} {page}：p95 {result.p95:.0f} ms，{result.query_counts} 次查询", flush=True)
    return results, clients


def check_lists(clients, rows, township, on):
    """Each list's 共 N 人 is the township's figure on the board (care.boards)."""
    from care.boards import region_counts

    counts = region_counts(township, on)
    for page, label, _, url in rows:
        if "state=" not in url:
            continue
        expected = counts.overdue if url.endswith("overdue") else counts.due
        text = clients[label].get(url).content.decode()
        shown = re.search(r"共 (\d+) 人", text)
        if not shown or int(shown.group(1)) != expected:
            raise SystemExit(f"{page}：名单显示“{shown and shown.group(0)}”，看板为 {expected} 人")
    print(f"核对：{township.name}逾期 {counts.overdue:,} 人、本周应访 {counts.due:,} 人，名单与看板一致")


def visit_posts(cadre, count, today):
    """``count`` (child pk, way) pairs the cadre may record today without repeating a visit already
    recorded (same child, day and way: the form refuses it): children of the village in the register,
    each with the ways not yet used today."""
    from care.models import ChildCare, Visit, VisitWay

    pks = list(
        ChildCare.objects.in_register()
        .in_region(cadre.region)
        .order_by("child_id")
        .values_list("child_id", flat=True)
    )
    taken = set(
        Visit.objects.current().filter(child_id__in=pks, visited_on=today).values_list("child_id", "way")
    )
    pairs = [(pk, way) for way in VisitWay.values for pk in pks if (pk, way) not in taken]
    if len(pairs) < count:
        raise SystemExit(f"{cadre.region.name} 今天可记录的走访只剩 {len(pairs)} 次，需要 {count} 次")
    return pairs[:count]


def measure_visits(cadre, requests, today):
    """POST the visit form R + WARMUP times, each a new visit; server CPU per request (ms) as the
    Measurement's times. Any answer but the redirect after saving stops the bench; each visit must
    have moved its child's clock to today."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from care.models import ChildCare

    client = Client()
    _common.sign_in(client, cadre, PASSWORD)
    cpu, wall, counts = [], [], []
    slowest_sql, slowest_ms = "", -1.0
    pairs = visit_posts(cadre, requests + WARMUP, today)
    for index, (pk, way) in enumerate(pairs):
        data = {
            "visited_on": today.isoformat(),
            "way": way,
            "met": "儿童本人和监护人",
            **{f"{area}_concern": "0" for area in CONCERNS},
            "next": "/",
        }
        url = f"/care/children/{pk}/visits/new/"
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.post(url, data)
            used_cpu, used = time.process_time() - started_cpu, time.perf_counter() - started
        if response.status_code != 302:
            errors = re.findall(
                r'class="[^"]*(?:invalid-feedback|alert-danger)[^"]*"[^>]*>(.*?)<', response.content.decode()
            )
            raise SystemExit(f"记录走访 {url} 返回 {response.status_code}：{'；'.join(errors)}")
        care = ChildCare.objects.get(child_id=pk)
        if care.last_visit_on != today or care.counted_from != today:
            raise SystemExit(f"记录走访后儿童记录 {pk} 的走访计时未更新：{care.last_visit_on}")
        if index < WARMUP:
            continue
        cpu.append(used_cpu * 1000)
        wall.append(used * 1000)
        counts.append(len(captured.captured_queries))
        for query in captured.captured_queries:
            if float(query["time"]) * 1000 > slowest_ms:
                slowest_sql, slowest_ms = query["sql"], float(query["time"]) * 1000
    measured = _common.Measurement(
        "记录走访（服务器 CPU）",
        "村干部",
        "/care/children/<pk>/visits/new/",
        cpu,
        counts,
        slowest_sql,
        slowest_ms,
        TARGET_CPU_MS,
        302,
    )
    return measured, wall


def report(results, visits, wall, total, version, *, judge=True):
    """Print the table; whether every target was met (always true when not ``judge``)."""
    print(f"\n== 关爱模块（走访、等级、看板、名单）：{version}；N = {total:,} 条留守儿童记录")
    table = [
        (
            r.page,
            r.user,
            f"{r.median:.1f}",
            f"{r.p95:.1f}",
            r.query_counts,
            f"p95<{r.target_ms}ms " + ("PASS" if r.passed else "FAIL"),
            "PASS" if len(set(r.queries)) == 1 else "FAIL",
        )
        for r in [*results, visits]
    ]
    _common.print_table(
        ["页面", "用户", "中位数 ms", "p95 ms", "查询数", "目标", "查询数恒定"], table, right=(2, 3, 4)
    )
    wall = sorted(wall)
    print(
        f"（记录走访的墙钟时间：中位数 {wall[len(wall) // 2]:.1f} ms，最长 {wall[-1]:.1f} ms；"
        f"计时后 1 分钟平均负载 {os.getloadavg()[0]:.2f}）"
    )
    constant = all(len(set(r.queries)) == 1 for r in results)
    missed = [r for r in [*results, visits] if not r.passed]
    if judge:
        met = f"{len(results) + 1 - len(missed)}/{len(results) + 1}"
        print(f"\n{met} 项达标；每个页面的查询数恒定：{'是' if constant else '否'}")
    else:
        print(f"\n--quick：每个页面的查询数恒定：{'是' if constant else '否'}（耗时不评判）")
    for r in missed if judge else []:
        print(f"\n== 未达标：{r.page}（{r.user}）{r.url}")
        print(f"最慢的 SQL（{r.slowest_sql_ms:.1f} ms）：\n{_common.sql_short(r.slowest_sql)}\n")
        print("\n".join(_common.explain(r.slowest_sql)))
    return constant and (not missed or not judge)


def main():
    args = parse_args()
    url = args.database_url
    name = _common.database_name(url)
    _common.use_project_root()
    survey_bench = _common.bench_module("survey")
    registry_bench = _common.bench_module("registry")
    reuse = args.keep and survey_bench.children_fit(url, args.children, survey_bench.REFERENCE_DATE)
    if not reuse:
        _common.database_recreate(url)
    _common.django_setup(url)

    from django.core.management import call_command

    from accounts.models import User
    from care.boards import region_counts
    from care.services import levels, village_counts_rebuild
    from registry.models import Region
    from workflow import clock

    version = _common.server_version()
    print(f"数据库 {name}：{version}；N = {args.children:,} 条留守儿童记录")
    with stopwatch("迁移、区划与账号"):
        call_command("migrate", verbosity=0)
        office, officer, reviewer = survey_bench.accounts_load(registry_bench)
    today = clock.today()
    history = None
    if reuse and care_loaded(args.children):
        print("--keep：复用已有的儿童记录、关爱状态与走访记录，未重新写入")
    else:
        if reuse:
            print("--keep：复用已有的儿童记录")
        else:
            print("写入方式：PostgreSQL COPY（每批 100,000 行），不写 simple_history 历史记录")
            with stopwatch(f"写入 {args.children:,} 条儿童记录（合计）"):
                survey_bench.children_fill(registry_bench, args.children, survey_bench.REFERENCE_DATE)
        with stopwatch(f"写入关爱状态与 {VISITS_PER_CHILD * args.children:,} 条走访记录（合计）"):
            history = care_fill(today)
    from django.db import connection

    from care.models import Case

    wanted = int(args.children * CASES_PER_CHILD)
    if Case.objects.count() != wanted:
        with stopwatch(f"写入 {wanted:,} 件个案与 {int(args.children * REFERRALS_PER_CHILD):,} 件转介"):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE care_case, care_referral CASCADE")
            cases_fill(args.children)
    with stopwatch("重算各村今日关爱统计（run_worker 每小时一次：care.services.village_counts_rebuild）"):
        village_counts_rebuild()
    city = Region.objects.get(code=CITY_CODE)
    level_rows = levels()
    counts = region_counts(city, today)
    print(f"全市（{today}）：{mix_summary(counts, level_rows)}")
    if history is not None:
        print(f"其中 {history.overrides:,} 人的等级由乡镇审核员临时调高")
        check_as_meant(history, counts)
    township = reviewer.region
    print(f"{township.name}：{mix_summary(region_counts(township, today), level_rows)}")
    print(f"{officer.region.name}：{mix_summary(region_counts(officer.region, today), level_rows)}")
    print(f"每页 {args.requests} 次计时请求（另 {WARMUP} 次预热），Django 测试客户端，DEBUG 关闭")
    print(f"本机 {os.cpu_count()} 核，1 分钟平均负载 {os.getloadavg()[0]:.2f}（计时前）")
    rows = pages(office, officer, reviewer)
    results, clients = run_pages(rows, args.requests)
    check_lists(clients, rows, township, today)
    cadre = visit_cadre(township)
    print(f"记录走访：{cadre.region.name}的村干部（{cadre.username}），每次一名儿童、今天、一种方式")
    visits, wall = measure_visits(User.objects.get(pk=cadre.pk), args.requests, today)
    passed = report(results, visits, wall, args.children, version, judge=not args.quick)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
