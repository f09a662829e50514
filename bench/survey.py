"""Speed of the screening campaign's pages at scale: progress of the city, a county and a township,
the home pages of the city office, a county officer and a township reviewer, and the city's
统计表 export, over N children spread across every village of 濮阳市.

    .venv/bin/python bench/survey.py [--children N] [--database-url URL] [--requests R] [--keep] [--quick]

It uses the database of bench/registry.py (default liushou_bench): with --keep an existing one
holding exactly N children born in the 16 years before the campaign's reference date
(2022-07-31) is reused, otherwise it is dropped, recreated and filled with COPY, the children's
ages counted on that date so the 统计表 adds up (勾稽). It migrates, loads the regions and the
accounts (one per village, township and county, as in service), creates and starts the demo's
2022 campaign with survey.services, gives the returns the demo's mix of states and events in
bulk (survey.demo.demo_returns_load) and one inspection, then times each page R times after 2
warm-up requests through Django's test client and prints median, p95 and queries per request
against the target: p95 under 500 ms at 1,000,000 children. For a page that misses it, the
slowest SQL statement and its EXPLAIN ANALYZE follow. The database is left in place.
Each role signs in through the login page, the city office with a TOTP code too
(_common.sign_in). --quick (for .ci/run): 2,000 children, 2 requests per page, every page
must answer 200 but the timings are not judged.
"""

import argparse
import html
import os
import re
import sys
import time
from collections import Counter
from datetime import date

import _common
from _common import DEFAULT_DATABASE_URL, People, stopwatch

TARGET_P95_MS = 500
WARMUP = 2
REFERENCE_DATE = date(2022, 7, 31)  # survey.demo.REFERENCE_DATE, checked in main()
CITY_CODE = "410900000000"
PASSWORD = "bench-Only-2025"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=1_000_000, help="留守儿童条数（默认 1,000,000）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    parser.add_argument("--requests", type=int, default=20, help="每个页面计时请求数（另加 2 次预热）")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="库中已有恰好 N 条、年龄按基准日 2022-07-31 生成的儿童记录时直接复用",
    )
    args = _common.parse_args_quick(parser, children=2000, requests=2)
    if args.children < 1000 or args.requests < 1:
        parser.error("--children 至少 1000，--requests 至少 1")
    return args


# --- the database ---------------------------------------------------------------------------


def _sixteen_years_before(day):
    try:
        return day.replace(year=day.year - 16)
    except ValueError:  # 29 February
        return date(day.year - 16, 2, 28)


def children_fit(url, total, on):
    """Whether the database of ``url`` holds exactly ``total`` children, all under 16 on ``on``
    (bench/registry.py counts their ages on the day it runs: such data fails the 勾稽 checks)."""
    if _common.database_row_count(url, "registry_child") != total:
        return False
    conn = _common._connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT min(birth_date), max(birth_date) FROM registry_child")
            oldest, youngest = cursor.fetchone()
    finally:
        conn.close()
    return oldest > _sixteen_years_before(on) and youngest <= on


def children_fill(registry_bench, total, on):
    """bench/registry.py's children (COPY, indexes rebuilt after, VACUUM ANALYZE), aged 0–15 on
    ``on`` instead of on the day of the run; registration and exit dates before ``on``."""
    from django.db import transaction

    villages = registry_bench._villages()
    claims = []

    def children():
        for child, claim in registry_bench.child_rows(total, villages, on, People()):
            claims.append(claim)
            yield child

    tables = (registry_bench.CHILD_TABLE, registry_bench.CLAIM_TABLE)
    with transaction.atomic():
        indexes = _common.indexes_drop(*tables)
        with stopwatch("  生成并 COPY 儿童记录与身份证号登记"):
            loaded = _common.copy_rows(tables[0], registry_bench.CHILD_COLUMNS, children())
            _common.copy_rows(tables[1], registry_bench.CLAIM_COLUMNS, claims)
        with stopwatch(f"  外键检查并重建 {len(indexes)} 个索引"):
            _common.indexes_create(indexes)
    with stopwatch("  VACUUM ANALYZE"):
        _common.vacuum_analyze(*tables)
    print(f"已写入 {loaded:,} 条儿童记录（年龄按 {on} 计），分布于 {len(villages):,} 个村（社区）")


# --- accounts and the campaign --------------------------------------------------------------


def accounts_load(registry_bench):
    """bench/registry.py's two accounts, the demo's city office (``city``) and supervisor
    (``supervisor``), a reviewer for the county officer's first township, and, as in service,
    an account for every other village, township and county (created in bulk, no password).

    Returns (city office, county officer, township reviewer).
    """
    from accounts.models import Role, User
    from accounts.services import user_upsert
    from registry.models import Region, RegionLevel

    officer, cadre = registry_bench.regions_and_accounts()
    city = Region.objects.get(code=CITY_CODE)
    office = user_upsert(
        username="city", role=Role.CITY_OFFICE, region=city, password=PASSWORD, name="市民政局"
    )
    user_upsert(username="supervisor", role=Role.SUPERVISOR, region=city, password=PASSWORD, name="陈督导")
    township = Region.objects.get(code=cadre.region.code[:9] + "000")
    reviewer = user_upsert(
        username="bench_township",
        role=Role.TOWNSHIP_REVIEWER,
        region=township,
        password=PASSWORD,
        name="乡审核",
    )
    taken = set(User.objects.exclude(region=None).values_list("region_id", flat=True))
    roles = {
        RegionLevel.COUNTY: Role.COUNTY_OFFICER,
        RegionLevel.TOWNSHIP: Role.TOWNSHIP_REVIEWER,
        RegionLevel.VILLAGE: Role.VILLAGE_CADRE,
    }
    others = []
    for region in Region.objects.in_region(city).filter(level__in=list(roles)).order_by("code"):
        if region.pk not in taken:
            user = User(username=f"bench_{region.code}", role=roles[region.level], region=region)
            user.set_unusable_password()
            others.append(user)
    User.objects.bulk_create(others, batch_size=1000, ignore_conflicts=True)
    return office, officer, reviewer


def campaign_load(city):
    """The demo's 2022 campaign of the city, created and started by the city office through
    survey.services, its returns given the demo's mix of states with their events in bulk, and
    the demo's inspection of 南乐县 (overdue rectifications on the home pages). Idempotent."""
    from registry.statistics import village_statistics_rebuild
    from survey.demo import demo_campaign_create, demo_inspection_load, demo_returns_load

    campaign = demo_campaign_create(city=city)
    # The children went in by COPY, past the services that keep the village statistics.
    started = time.perf_counter()
    village_statistics_rebuild(city, campaign.reference_date)
    print(f"村级统计重建：{time.perf_counter() - started:.1f} 秒")
    changed = demo_returns_load(campaign=campaign)
    demo_inspection_load(campaign=campaign)
    return campaign, changed


def campaign_summary(campaign):
    from survey.models import ReturnEvent, ReturnState, VillageReturn

    states = Counter(VillageReturn.objects.filter(campaign=campaign).values_list("state", flat=True))
    events = ReturnEvent.objects.filter(village_return__campaign=campaign).count()
    mix = "，".join(f"{ReturnState(state).label} {states.get(state, 0):,}" for state in ReturnState.values)
    return f"{sum(states.values()):,} 份村级报表（{mix}），{events:,} 条流转记录"


# --- measuring ------------------------------------------------------------------------------


def pages(campaign, office, officer, reviewer):
    """(page label, user label, user, url) of every page measured."""
    county, township = officer.region, reviewer.region
    progress = f"/survey/{campaign.pk}/progress/"
    return [
        ("全市进度", "市民政局", office, f"{progress}{CITY_CODE}/"),
        (f"{county.name}进度", "县级民政", officer, f"{progress}{county.code}/"),
        (f"{township.name}进度", "乡镇审核员", reviewer, f"{progress}{township.code}/"),
        ("首页", "市民政局", office, "/"),
        ("首页", "县级民政", officer, "/"),
        ("首页", "乡镇审核员", reviewer, "/"),
        ("全市统计表 xlsx", "市民政局", office, f"/survey/{campaign.pk}/statistics/{CITY_CODE}/"),
    ]


def mismatches_shown(response):
    """The 勾稽 mismatches listed by a 409 answer of the statistics export."""
    items = re.findall(r"<li[^>]*>(.*?)</li>", response.content.decode(), flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items if "不符" in item]


def run_pages(rows, requests):
    from django.test import Client

    clients, results = {}, []
    for page, label, user, url in rows:
        if label not in clients:
            clients[label] = Client()
            _common.sign_in(clients[label], user, PASSWORD)
        client = clients[label]
        status = 200
        if "/statistics/" in url:
            response = client.get(url)
            status = response.status_code
            if status == 409:
                problems = mismatches_shown(response)
                print(f"  {page} 返回 409：统计表未通过勾稽校验（{len(problems)} 处），前 20 处：")
                print("\n".join(f"    {problem}" for problem in problems[:20]))
            elif status == 200 and not response.content.startswith(b"PK"):
                raise SystemExit(f"{page}（{label}）{url} 返回的不是 xlsx")
        result = _common.measure(
            client,
            url,
            page=page,
            user=label,
            requests=requests,
            warmup=WARMUP,
            target_ms=TARGET_P95_MS,
            status=status,
        )
        results.append(result)
        print(f"  {label} {page}：p95 {result.p95:.0f} ms", flush=True)
    return results


def report(results, total, version, title, *, judge=True):
    """Print the table; whether every page answered 200 and (when ``judge``) met the target."""
    print(f"\n== {title}：{version}；N = {total:,} 条留守儿童记录")
    _common.print_table(
        ["页面", "用户", "状态", "中位数 ms", "p95 ms", "查询数", f"p95<{TARGET_P95_MS}ms"],
        [
            (
                r.page,
                r.user,
                r.status,
                f"{r.median:.1f}",
                f"{r.p95:.1f}",
                r.query_counts,
                "PASS" if r.passed and r.status == 200 else "FAIL",
            )
            for r in results
        ],
        right=(2, 3, 4, 5),
    )
    failed = [r for r in results if not ((r.passed or not judge) and r.status == 200)]
    print(f"（计时后 1 分钟平均负载 {os.getloadavg()[0]:.2f}）")
    passed = f"{len(results) - len(failed)}/{len(results)}"
    if judge:
        print(f"\n{passed} 个页面达标（状态 200 且 p95 < {TARGET_P95_MS} ms）")
    else:
        print(f"\n--quick：{passed} 个页面状态 200（耗时不评判）")
    for r in results:
        if r.passed:
            continue
        print(f"\n== 未达标：{r.page}（{r.user}）{r.url}")
        print(f"最慢的 SQL（{r.slowest_sql_ms:.1f} ms）：\n{_common.sql_short(r.slowest_sql)}\n")
        print("\n".join(_common.explain(r.slowest_sql)))
    return not failed


def main():
    args = parse_args()
    url = args.database_url
    name = _common.database_name(url)
    reuse = args.keep and children_fit(url, args.children, REFERENCE_DATE)
    if not reuse:
        _common.database_recreate(url)
    _common.use_project_root()
    registry_bench = _common.bench_module("registry")
    _common.django_setup(url)

    from django.core.management import call_command

    from registry.models import Region
    from survey import demo

    if demo.REFERENCE_DATE != REFERENCE_DATE:
        raise SystemExit(f"survey.demo 的基准日已改为 {demo.REFERENCE_DATE}：请同步 REFERENCE_DATE")
    version = _common.server_version()
    print(f"数据库 {name}：{version}；N = {args.children:,} 条留守儿童记录")
    with stopwatch("迁移、区划与账号"):
        call_command("migrate", verbosity=0)
        office, officer, reviewer = accounts_load(registry_bench)
    if reuse:
        print("--keep：复用已有数据，未重新写入")
    else:
        print("写入方式：PostgreSQL COPY（每批 100,000 行），不写 simple_history 历史记录")
        with stopwatch(f"写入 {args.children:,} 条儿童记录（合计）"):
            children_fill(registry_bench, args.children, REFERENCE_DATE)
    with stopwatch("摸底排查：创建、启动，村级报表状态与流转记录"):
        campaign, changed = campaign_load(Region.objects.get(code=CITY_CODE))
    if changed:
        _common.vacuum_analyze("survey_villagereturn", "survey_returnevent")
    print(f"{campaign.name}（基准日 {campaign.reference_date}，截止 {campaign.deadline}）：")
    print(f"  {campaign_summary(campaign)}")
    print(f"每页 {args.requests} 次计时请求（另 {WARMUP} 次预热），Django 测试客户端，DEBUG 关闭")
    print(f"本机 {os.cpu_count()} 核，1 分钟平均负载 {os.getloadavg()[0]:.2f}（计时前）")
    rows = pages(campaign, office, officer, reviewer)
    before = run_pages(rows, args.requests)
    passed = report(before, args.children, version, "现有代码", judge=not args.quick)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
