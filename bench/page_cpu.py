"""CPU per page of the load test (bench/load.py), measured in process: no gunicorn, no HTTP.

    .venv/bin/python bench/page_cpu.py [--requests R] [--children N] [--keep]
                                       [--database-url URL] [--profile PAGE] [--top K] [--sql PAGE]
                                       [--quick]

The load test's figure "server CPU per request" is what caps its request rate on this machine;
this script says where that CPU goes, page by page, in seconds instead of minutes. It builds the
load test's data in its own database (default liushou_bench_page_cpu; with --keep an existing one
is reused), with bench/load.py's setup, then, through Django's test client with DEBUG off
(cached template loaders, every middleware), signed in as one of the load test's village cadres
and one county officer and one township reviewer, runs each request the load test sends R times
after 2 warm-up rounds:

- cadre: the new-child form, posting a child, its detail page, its edit form, posting an edit,
  the children's list;
- officer: home page, the campaign's progress page of their county or township.

For each it prints the CPU milliseconds of this process (the Django side; median and mean), the
mean of the PostgreSQL backend serving it (read from /proc: the server runs on this machine), the
sum of the means, the median wall time and the SQL statements per request. --profile PAGE (a
label of the table, e.g. "新增表单 GET") runs that request R more times under cProfile and prints
the K functions with the most cumulative and own time (PAGE_CPU_PROFILE_DUMP=file also writes the
profile for pstats); --sql PAGE lists the SQL statements of its last timed request. A gen-2
garbage collection (~30 ms here) lands in whichever request triggers it: read means with that
in mind, and profiles too. Each user signs in through the login page (_common.sign_in).
--quick (for .ci/run): 2,000 children, 2 timed rounds.
"""

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import _common

# As a browser (and the load test) posts a form; the test client would send multipart.
FORM_ENCODED = "application/x-www-form-urlencoded"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liushou_bench_page_cpu"
WARMUP = 2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="每个请求计时次数（另加 2 轮预热，默认 30）")
    parser.add_argument("--children", type=int, default=15_362, help="预置儿童记录数（默认 15,362）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    parser.add_argument("--keep", action="store_true", help="库已由本脚本建好时直接复用")
    parser.add_argument("--profile", metavar="PAGE", help="对该请求（表中的名称）做 cProfile")
    parser.add_argument("--sql", metavar="PAGE", help="列出该请求（表中的名称）一次执行的 SQL")
    parser.add_argument("--top", type=int, default=30, help="cProfile 列出的函数数（默认 30）")
    args = _common.parse_args_quick(parser, children=2000, requests=2)
    if args.requests < 1:
        parser.error("--requests 至少 1")
    return args


def _backend_cpu(pid):
    """User + system CPU seconds of the PostgreSQL backend ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Counter:
    """Counts the SQL statements run (a connection execute wrapper: no debug cursor); keeps
    their text while ``keep`` is set."""

    def __init__(self):
        self.n = 0
        self.keep = False
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        if self.keep:
            self.statements.append(sql)
        return execute(sql, params, many, context)


def setup(args):
    """The load test's data (reused with --keep); returns (campaign, cadre, officers)."""
    marker = _common.database_row_count(args.database_url, "registry_child")
    reuse = args.keep and marker
    if not reuse:
        _common.database_recreate(args.database_url)
    _common.django_setup(args.database_url)

    from accounts.models import User
    from survey.models import Campaign

    if reuse:
        print(f"--keep：复用库 {_common.database_name(args.database_url)}（{marker:,} 条儿童记录）")
        campaign = Campaign.objects.order_by("pk").first()
        # The accounts bench/load.py's setup chose: the only ones with the production hasher.
        chosen = User.objects.filter(password__startswith="pbkdf2_", is_active=True).select_related("region")
        cadre = chosen.filter(role="village_cadre").order_by("pk").first()
        officers = list(
            chosen.filter(role__in=("county_officer", "township_reviewer")).order_by("role", "pk")
        )
        if campaign is None or cadre is None or len(officers) < 2:
            raise SystemExit("库中没有本脚本建的数据：去掉 --keep 重建")
        return campaign, cadre, officers[:1] + officers[-1:]
    options = argparse.Namespace(cadres=1, officers=2, children=args.children)
    campaign, cadres, officers = _common.bench_module("load").setup(options)
    cadre = User.objects.get(username=cadres[0][0])
    officers = list(User.objects.filter(username__in=[o[0] for o in officers]).select_related("region"))
    return campaign, cadre, officers


def requests_of(campaign, cadre, officers, ids):
    """(label, user, send, after) for every request the load test sends: ``send(client)`` returns
    the response (200 or 302); ``after(response)``, if any, reads what the next request needs
    (as the load test's client does), outside the time measured."""
    load = _common.bench_module("load")
    state = {}

    def create_form_read(response):
        state["fields"] = load.form_fields(response.content.decode())

    def create_post(client):
        fields = dict(state["fields"])
        fields.update(
            village=str(cadre.region_id),
            name="王浩1",
            id_number=ids(cadre.region.code[:6], True),
            **load.CHILD_FIELDS,
        )
        response = client.post("/children/new/", urlencode(fields), content_type=FORM_ENCODED)
        if response.status_code != 302:
            errors = load.form_errors(response.content.decode())
            raise SystemExit(f"新增提交没有转到详情页：{response.status_code} {errors}")
        state["pk"] = int(response["Location"].strip("/").split("/")[-1])
        return response

    def detail(client):
        return client.get(f"/children/{state['pk']}/")

    def edit_form_read(response):
        state["edit"] = load.form_fields(response.content.decode())

    def edit_post(client):
        fields = [(k, v) for k, v in state["edit"] if k not in ("note", "guardian_phone")]
        fields += [("note", f"{load.EDIT_NOTE}{state['pk']}"), ("guardian_phone", "13987654321")]
        response = client.post(f"/children/{state['pk']}/edit/", urlencode(fields), content_type=FORM_ENCODED)
        if response.status_code != 302:
            errors = load.form_errors(response.content.decode())
            raise SystemExit(f"编辑提交没有转到详情页：{response.status_code} {errors}")
        return response

    rows = [
        ("新增表单 GET", cadre, lambda client: client.get("/children/new/"), create_form_read),
        ("新增提交 POST", cadre, create_post, None),
        ("详情 GET", cadre, detail, None),
        ("编辑表单 GET", cadre, lambda client: client.get(f"/children/{state['pk']}/edit/"), edit_form_read),
        ("编辑提交 POST", cadre, edit_post, None),
        ("列表 GET", cadre, lambda client: client.get("/children/"), None),
    ]
    for officer in officers:
        who = "县" if officer.role == "county_officer" else "乡"
        progress = f"/survey/{campaign.pk}/progress/{officer.region.code}/"
        rows.append((f"首页 GET（{who}）", officer, lambda client: client.get("/"), None))
        rows.append((f"进度 GET（{who}）", officer, lambda client, url=progress: client.get(url), None))
    return rows


def main():
    args = parse_args()
    _common.use_project_root()
    campaign, cadre, officers = setup(args)

    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    load = _common.bench_module("load")
    ids = load.IdNumbers(campaign.reference_date, seed=time.time_ns())
    _skip_issued(ids, cadre)
    rows = requests_of(campaign, cadre, officers, ids)
    clients = {}
    # bench/load.py's accounts are hashed as production hashes (its gunicorn checks them): check
    # them with that hasher, which also leaves them so for a --keep run (found by their hash).
    with override_settings(PASSWORD_HASHERS=load._default_hashers()):
        for _, user, _, _ in rows:
            if user.pk not in clients:
                clients[user.pk] = Client()
                _common.sign_in(clients[user.pk], user, load.PASSWORD)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    samples = {label: ([], [], [], []) for label, _, _, _ in rows}  # python ms, db ms, wall ms, queries
    counter = Counter()
    print(
        f"每个请求计时 {args.requests} 次（另 {WARMUP} 轮预热），DEBUG 关闭，测试客户端；"
        f"1 分钟平均负载 {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with connection.execute_wrapper(counter):
        for round_ in range(WARMUP + args.requests):
            # In the load test's order: each POST needs the page before it.
            for label, user, send, after in rows:
                counter.n = 0
                counter.keep = label == args.sql and round_ == WARMUP + args.requests - 1
                db0, cpu0, wall0 = _backend_cpu(backend), time.process_time(), time.perf_counter()
                response = send(clients[user.pk])
                wall, cpu, db = (
                    time.perf_counter() - wall0,
                    time.process_time() - cpu0,
                    _backend_cpu(backend) - db0,
                )
                if response.status_code not in (200, 302):
                    raise SystemExit(f"{label} 返回 {response.status_code}")
                if after:
                    after(response)
                if round_ >= WARMUP:
                    values = (cpu * 1000, db * 1000, wall * 1000, counter.n)
                    for bucket, value in zip(samples[label], values, strict=True):
                        bucket.append(value)

    table = []
    total_py = total_db = 0.0
    for label, (py, db, wall, queries) in samples.items():
        py_ms, db_ms = statistics.mean(py), statistics.mean(db)
        total_py, total_db = total_py + py_ms, total_db + db_ms
        table.append((
            label, f"{statistics.median(py):.1f}", f"{py_ms:.1f}", f"{db_ms:.1f}", f"{py_ms + db_ms:.1f}",
            f"{statistics.median(wall):.1f}", max(queries),
        ))  # fmt: skip
    _common.print_table(
        ["请求", "Python 中位数 ms", "Python 均值 ms", "PG 均值 ms", "合计 ms", "墙钟中位数 ms", "SQL 条数"],
        table,
        right=(1, 2, 3, 4, 5, 6),
    )
    # A cadre's loop sends the detail page twice (after the create and after the edit).
    cadre_rows = [label for label, user, _, _ in rows if user.pk == cadre.pk] + ["详情 GET"]
    loop = sum(
        statistics.mean(samples[label][0]) + statistics.mean(samples[label][1]) for label in cadre_rows
    )
    print(
        f"\n村干部一轮 {len(cadre_rows)} 个请求共 {loop:.0f} ms CPU，每请求 {loop / len(cadre_rows):.1f} ms；"
        f"上表 {len(rows)} 个请求平均每请求 {(total_py + total_db) / len(rows):.1f} ms"
        f"（PG 后端的 CPU 按时钟滴答计，单次请求的数值粗略，均值可用）"
    )
    print(f"（计时后 1 分钟平均负载 {os.getloadavg()[0]:.2f}）")

    if args.sql:
        print(f"\n== {args.sql} 的 SQL（{len(counter.statements)} 条）")
        for n, statement in enumerate(counter.statements, 1):
            print(f"{n:3}. {_common.sql_short(statement)[:400]}")
    if args.profile:
        if args.profile not in samples:
            raise SystemExit(f"没有名为 {args.profile!r} 的请求：{', '.join(samples)}")
        profile = cProfile.Profile()
        for _ in range(args.requests):
            for label, user, send, after in rows:  # all of them: each POST needs its form page
                if label == args.profile:
                    profile.enable()
                response = send(clients[user.pk])
                profile.disable()
                if after:
                    after(response)
        if os.environ.get("PAGE_CPU_PROFILE_DUMP"):
            profile.dump_stats(os.environ["PAGE_CPU_PROFILE_DUMP"])
        stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs()
        print(f"\n== cProfile：{args.profile}，{args.requests} 次")
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)


def _skip_issued(ids, cadre):
    """Let ``ids`` skip the numbers an earlier run (--keep) already registered for ``cadre``."""
    from datetime import date

    from registry.models import Child

    for number in Child.objects.filter(created_by=cadre).values_list("id_number", flat=True):
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        sequence = int(number[14:17])
        key = (number[:6], birth, sequence % 2 == 1)
        ids.issued[key] = max(ids.issued.get(key, 0), sequence // 2 + 1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
