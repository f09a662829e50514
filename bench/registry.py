"""Speed of the children's register at scale: list, filters, search, a deep page and a detail page,
for a county officer and a village cadre, over N children spread across every village of 濮阳市.

    .venv/bin/python bench/registry.py [--children N] [--database-url URL] [--requests R] [--keep] [--quick]

It drops and recreates its own database (default liushou_bench on the local server; with
--keep an existing one holding exactly N children is reused), migrates, loads the regions of
410900 with the demo villages, creates the two accounts, fills the children with COPY, then
times each page R times after 3 warm-up requests through Django's test client and prints
median, p95 and queries per request against the target: p95 under 300 ms at 1,000,000 children.
The database is left in place for a later --keep run. Both sign in through the login page
(_common.sign_in). --quick (for .ci/run): 2,000 children, 2 requests per page.
"""

import argparse
import json
import sys
from datetime import timedelta

import _common
from _common import DEFAULT_DATABASE_URL, TARGET_P95_MS, People, spread, stopwatch

CITY = "410900"
COUNTY_NAME = "清丰县"
PASSWORD = "bench-Only-2025"
SURNAME_QUERY = "王"
CHILD_TABLE = "registry_child"
CLAIM_TABLE = "registry_identityclaim"
HIGH_RISK_SHARE = 0.02
EXITED_SHARE = 0.03
PAGE_SIZE = 20  # registry.views_records.record_list
CHILD_COLUMNS = (
    "village_id",
    "village_code",
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "id_number",
    "id_warnings",
    "hukou_address",
    "current_address",
    "phone",
    "health",
    "disability_type",
    "disability_grade",
    "illness",
    "needs",
    "note",
    "status",
    "exit_reason",
    "exit_date",
    "exit_note",
    "is_high_risk",
    "risk_flags",
    "version",
    "created_at",
    "updated_at",
    "created_by_id",
    "schooling",
    "school_name",
    "grade",
    "boarding",
    "father_name",
    "father_id_number",
    "father_status",
    "father_work_place",
    "father_phone",
    "mother_name",
    "mother_id_number",
    "mother_status",
    "mother_work_place",
    "mother_phone",
    "guardianship_type",
    "guardian_name",
    "guardian_id_number",
    "guardian_relation",
    "guardian_phone",
    "guardian_assessment",
    "entrusted_guardian_appointed",
    "income_sources",
    "assistance",
    "contact_person",
    "contact_phone",
    "left_behind_type",
)
CLAIM_COLUMNS = ("id_number", "category", "village_id", "created_at")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=1_000_000, help="留守儿童条数（默认 1,000,000）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    parser.add_argument("--requests", type=int, default=30, help="每个页面计时请求数（另加 3 次预热）")
    parser.add_argument("--keep", action="store_true", help="库中已有恰好 N 条儿童记录时直接复用")
    args = _common.parse_args_quick(parser, children=2000, requests=2)
    if args.children < 1000 or args.requests < 1:
        parser.error("--children 至少 1000，--requests 至少 1")
    return args


# --- setting up -----------------------------------------------------------------------------


def regions_and_accounts():
    """Load the city's regions and demo villages (idempotent) and upsert the two accounts."""
    from accounts.models import Role
    from accounts.services import user_upsert
    from registry.demo import demo_villages_load
    from registry.models import Region, RegionLevel
    from registry.services import regions_load_city

    regions_load_city(code=CITY)
    city = Region.objects.get(code=CITY + "000000")
    demo_villages_load(city=city)
    county = Region.objects.get(level=RegionLevel.COUNTY, name=COUNTY_NAME, code__startswith=CITY[:4])
    village = Region.objects.at_level(RegionLevel.VILLAGE).in_region(county).order_by("code").first()
    officer = user_upsert(
        username="bench_county", role=Role.COUNTY_OFFICER, region=county, password=PASSWORD, name="县民政"
    )
    cadre = user_upsert(
        username="bench_cadre", role=Role.VILLAGE_CADRE, region=village, password=PASSWORD, name="村主任"
    )
    return officer, cadre


def _villages():
    """Every village of the city with what a record copies from it: (id, code, address, county code)."""
    from registry.models import Region, RegionLevel

    names = dict(Region.objects.filter(code__startswith=CITY[:4]).values_list("code", "name"))
    villages = []
    for pk, code, name in (
        Region.objects.filter(level=RegionLevel.VILLAGE, code__startswith=CITY[:4])
        .order_by("code")
        .values_list("id", "code", "name")
    ):
        address = (
            "河南省" + names[CITY + "000000"] + names[code[:6] + "000000"] + names[code[:9] + "000"] + name
        )
        villages.append((pk, code, address, code[:6]))
    return villages


def child_rows(total, villages, today, people):
    """``total`` children as (child row, claim row) pairs in CHILD_COLUMNS / CLAIM_COLUMNS order.

    Children are spread unevenly over ``villages``; ages 0–15 on ``today``; about 2% high-risk
    (no guardian, guardian unable, seriously ill or disabled, dropped out), about 3% exited.
    """
    from registry import rules
    from registry.choices import (
        ExitReason,
        GuardianAssessment,
        GuardianRelation,
        GuardianshipType,
        HealthStatus,
        LeftBehindType,
        ParentStatus,
        RecordStatus,
        Schooling,
    )

    rng = people.rng
    span = (today - today.replace(year=today.year - 16)).days  # born less than 16 years ago
    stamps = [f"{today - timedelta(days=d)} 09:{d % 60:02d}:00+08" for d in range(400)]
    warnings = {}
    weights = [rng.uniform(0.3, 1.7) for _ in villages]
    for (village_id, code, address, county), count in zip(villages, spread(total, weights), strict=True):
        if county not in warnings:
            sample = people.adult_id_number(county, today.year - 10, True)
            warnings[county] = "；".join(rules.check_id_number(sample).warnings)
        contact = (people.name(True, elder=True), people.phone())
        school = address[-6:].removesuffix("村").removesuffix("社区")
        for _ in range(count):
            male = rng.random() < 0.53
            birth = today - timedelta(days=rng.randrange(span))
            age = rules.age_on(birth, today)
            id_number = people.id_number(county, birth, male)
            surname = people.surname()
            mother_surname = people.surname()
            father_status = mother_status = ParentStatus.AWAY_WORKING
            kind = LeftBehindType.BOTH
            if rng.random() < 0.15:
                kind = LeftBehindType.SINGLE
                unable = rng.choice((ParentStatus.INCAPABLE, ParentStatus.DIVORCED, ParentStatus.DECEASED))
                if rng.random() < 0.7:
                    mother_status = unable
                else:
                    father_status = unable
            guardianship = rng.choices(
                (GuardianshipType.GRANDPARENT, GuardianshipType.RELATIVE, GuardianshipType.ENTRUSTED),
                cum_weights=(80, 93, 100),
            )[0]
            assessment = GuardianAssessment.GOOD if rng.random() < 0.6 else GuardianAssessment.FAIR
            health, disability = HealthStatus.HEALTHY, ("", "")
            if rng.random() < 0.015:
                health = HealthStatus.ILL
            schooling = _schooling(age, rng, Schooling)
            if rng.random() < HIGH_RISK_SHARE:
                risk = rng.randrange(4)
                if risk == 0:
                    guardianship, assessment = GuardianshipType.NONE, GuardianAssessment.NONE
                elif risk == 1:
                    assessment = GuardianAssessment.ENTRUSTED_INSUFFICIENT
                elif risk == 2 or age < 12:
                    health, disability = HealthStatus.DISABLED, (rng.choice(("肢体残疾", "智力残疾")), "二级")
                else:
                    schooling = Schooling.DROPPED_OUT
            flags = rules.child_red_flags(
                guardianship_type=guardianship,
                guardian_assessment=assessment,
                health=health,
                schooling=schooling,
                father_status=father_status,
                mother_status=mother_status,
            )
            if guardianship == GuardianshipType.GRANDPARENT:
                maternal = rng.random() < 0.25
                relation = GuardianRelation.MATERNAL_GRANDPARENT if maternal else GuardianRelation.GRANDPARENT
                guardian_male = rng.random() < 0.45
                guardian = people.name(
                    guardian_male, surname=mother_surname if maternal else surname, elder=True
                )
                guardian_year = birth.year - rng.randint(45, 60)
            elif guardianship == GuardianshipType.NONE:
                relation, guardian, guardian_male, guardian_year = "", "", False, None
            else:
                relation = (
                    GuardianRelation.RELATIVE
                    if guardianship == GuardianshipType.RELATIVE
                    else GuardianRelation.OTHER
                )
                guardian_male = rng.random() < 0.5
                guardian = people.name(guardian_male)
                guardian_year = birth.year - rng.randint(20, 40)
            exited = rng.random() < EXITED_SHARE
            stamp = rng.choice(stamps)
            father_year, mother_year = birth.year - rng.randint(22, 38), birth.year - rng.randint(20, 35)
            yield (
                (
                    village_id,
                    code,
                    people.name(male, surname=surname),
                    "male" if male else "female",
                    "汉族" if rng.random() < 0.99 else "回族",
                    birth,
                    id_number,
                    warnings[county],
                    address,
                    address,
                    "",
                    health,
                    disability[0],
                    disability[1],
                    "哮喘" if health == HealthStatus.ILL else "",
                    "",
                    "",
                    RecordStatus.EXITED if exited else RecordStatus.ACTIVE,
                    ExitReason.PARENTS_RETURNED if exited else "",
                    today - timedelta(days=rng.randrange(1, 300)) if exited else None,
                    "父母返乡务农" if exited else "",
                    "t" if flags else "f",
                    json.dumps(list(flags), ensure_ascii=False),
                    1,
                    stamp,
                    stamp,
                    None,
                    schooling,
                    _school_name(school, schooling),
                    "",
                    "t" if schooling == Schooling.JUNIOR and rng.random() < 0.4 else "f",
                    people.name(True, surname=surname),
                    people.adult_id_number(county, father_year, True),
                    father_status,
                    rng.choice(_common.WORK_CITIES) if father_status == ParentStatus.AWAY_WORKING else "",
                    people.phone(),
                    people.name(False, surname=mother_surname),
                    people.adult_id_number(county, mother_year, False),
                    mother_status,
                    rng.choice(_common.WORK_CITIES) if mother_status == ParentStatus.AWAY_WORKING else "",
                    people.phone() if mother_status != ParentStatus.DECEASED else "",
                    guardianship,
                    guardian,
                    people.adult_id_number(county, guardian_year, guardian_male) if guardian else "",
                    relation,
                    people.phone() if guardian else "",
                    assessment,
                    "t" if guardianship == GuardianshipType.ENTRUSTED else "f",
                    "务工收入",
                    '["subsistence"]' if rng.random() < 0.08 else "[]",
                    contact[0],
                    contact[1],
                    kind,
                ),
                (id_number, "child", village_id, stamp),
            )


def _schooling(age, rng, schooling):
    if age < 3:
        return schooling.NOT_ENROLLED
    if age < 6:
        return schooling.KINDERGARTEN if rng.random() < 0.85 else schooling.NOT_ENROLLED
    if age < 12:
        return schooling.PRIMARY
    if age < 15:
        return schooling.JUNIOR
    return schooling.SENIOR if rng.random() < 0.6 else schooling.VOCATIONAL


def _school_name(place, schooling):
    return {
        "kindergarten": f"{place}幼儿园",
        "primary": f"{place}小学",
        "junior": f"{place}乡镇中学",
        "senior": "清丰县第一高级中学",
        "vocational": "濮阳市职业中等专业学校",
    }.get(schooling, "")


def children_fill(total):
    """COPY ``total`` children and their identity claims (no simple_history rows), then VACUUM
    ANALYZE: statistics for the planner, and the visibility map a table long in service has."""
    from django.db import transaction
    from django.utils import timezone

    today = timezone.localdate()
    people = People()
    villages = _villages()
    claims = []

    def children():
        for child, claim in child_rows(total, villages, today, people):
            claims.append(claim)
            yield child

    with transaction.atomic():
        indexes = _common.indexes_drop(CHILD_TABLE, CLAIM_TABLE)
        with stopwatch("  生成并 COPY 儿童记录与身份证号登记"):
            loaded = _common.copy_rows(CHILD_TABLE, CHILD_COLUMNS, children())
            _common.copy_rows(CLAIM_TABLE, CLAIM_COLUMNS, claims)
        with stopwatch(f"  外键检查并重建 {len(indexes)} 个索引"):
            _common.indexes_create(indexes)
    with stopwatch("  VACUUM ANALYZE"):
        _common.vacuum_analyze(CHILD_TABLE, CLAIM_TABLE)
    print(f"已写入 {loaded:,} 条儿童记录及身份证号登记，分布于 {len(villages):,} 个村（社区）")


# --- measuring ------------------------------------------------------------------------------


def pages(officer, cadre):
    """(page label, user label, user, url) of every page measured."""
    from registry.models import Child, Region, RegionLevel

    county_children = Child.objects.visible_to(officer).active()
    village_children = Child.objects.visible_to(cadre).active()
    township = Region.objects.at_level(RegionLevel.TOWNSHIP).in_region(officer.region).order_by("code")[1]
    # A record deep in the county (not in the cadre's village) and one in the cadre's village.
    county_record = county_children.order_by("-village_code", "pk").first()
    village_record = village_children.order_by("pk").first()
    rows = []
    for label, user, record in (("县级民政", officer, county_record), ("村干部", cadre, village_record)):
        rows += [
            ("列表", label, user, "/children/"),
            ("高风险", label, user, "/children/?risk=high"),
        ]
        if user is officer:
            rows.append(("6–13岁+乡镇", label, user, f"/children/?age_band=6_13&township={township.pk}"))
        rows += [
            (f"搜索“{SURNAME_QUERY}”", label, user, f"/children/?q={SURNAME_QUERY}"),
            ("搜索姓名", label, user, f"/children/?q={record.name}"),
            ("搜索身份证前10位", label, user, f"/children/?q={record.id_number[:10]}"),
            ("第50页", label, user, "/children/?page=50"),
            ("详情", label, user, f"/children/{record.pk}/"),
        ]
    scope = {
        "县级民政": (officer.region.name, county_children.count()),
        "村干部": (cadre.region.name, village_children.count()),
    }
    return rows, scope


# --- measuring --------------------------------------------------------------------------------


def run_pages(rows, requests):
    from django.test import Client

    clients = {}
    results = []
    for page, label, user, url in rows:
        if label not in clients:
            clients[label] = Client()
            _common.sign_in(clients[label], user, PASSWORD)
        results.append(_common.measure(clients[label], url, page=page, user=label, requests=requests))
        print(f"  {label} {page}：p95 {results[-1].p95:.0f} ms", flush=True)
    return results


def report(results, total, title):
    print(f"\n{title}")
    _common.print_table(
        ["页面", "用户", "中位数 ms", "p95 ms", "查询数", f"p95<{TARGET_P95_MS}ms"],
        [
            (
                r.page,
                r.user,
                f"{r.median:.1f}",
                f"{r.p95:.1f}",
                r.query_counts,
                "PASS" if r.passed else "FAIL",
            )
            for r in results
        ],
        right=(2, 3, 4),
    )
    failed = [r for r in results if not r.passed]
    print()
    print(
        f"N = {total:,}；{len(results) - len(failed)}/{len(results)} 个页面达标（p95 < {TARGET_P95_MS} ms）"
    )
    for r in failed:
        print(f"\n== 未达标：{r.page}（{r.user}）{r.url}")
        print(f"最慢的 SQL（{r.slowest_sql_ms:.1f} ms）：\n{_common.sql_short(r.slowest_sql)}\n")
        print("\n".join(_common.explain(r.slowest_sql)))


def main():
    args = parse_args()
    url = args.database_url
    name = _common.database_name(url)
    reuse = args.keep and _common.database_row_count(url, CHILD_TABLE) == args.children
    if not reuse:
        _common.database_recreate(url)
    _common.use_project_root()
    _common.django_setup(url)

    from django.core.management import call_command

    print(f"数据库 {name}：{_common.server_version()}；N = {args.children:,} 条留守儿童记录")
    with stopwatch("迁移、区划与账号"):
        call_command("migrate", verbosity=0)
        officer, cadre = regions_and_accounts()
    if reuse:
        print("--keep：复用已有数据，未重新写入")
    else:
        print("写入方式：PostgreSQL COPY（每批 100,000 行），不写 simple_history 历史记录")
        with stopwatch(f"写入 {args.children:,} 条儿童记录（合计）"):
            children_fill(args.children)

    rows, scope = pages(officer, cadre)
    for label, (region, count) in scope.items():
        pages_count = -(-count // PAGE_SIZE)
        clamped = "，“第50页”即末页" if pages_count < 50 else ""
        print(f"{label}：{region}，在册 {count:,} 人（{pages_count:,} 页{clamped}）")
    print(f"每页 {args.requests} 次计时请求（另 3 次预热），Django 测试客户端，DEBUG 关闭")
    report(run_pages(rows, args.requests), args.children, "== 现有代码")
    return 0


if __name__ == "__main__":
    sys.exit(main())
