"""What the benchmark scripts of bench/ share: a throw-away PostgreSQL database, Django set up
against it, fast loading with COPY, synthetic people, and timing pages through the test client.

A benchmark is a script, not a test: it prints figures and always ends by itself. The only
network it touches is the PostgreSQL server named by its database URL.

Run as ``python bench/<name>.py``, Python puts bench/ first on sys.path, where bench/registry.py
would shadow the registry app; each script calls :func:`use_project_root` before importing.
Modules that need Django's app registry (models, services) are imported inside functions,
after :func:`django_setup`.
"""

import contextlib
import csv
import importlib.util
import io
import itertools
import os
import queue
import random
import re
import statistics
import sys
import threading
import time
import unicodedata
import urllib.request
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dj_database_url
import psycopg2
from psycopg2 import sql
from stdnum.cn import ric

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liushou_bench"
TARGET_P95_MS = 300
COPY_CHUNK = 100_000


def use_project_root():
    """Put the project root, not bench/, first on sys.path (see the module docstring)."""
    bench = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != bench]
    sys.path.insert(0, str(ROOT))


def bench_module(name):
    """Another benchmark script of bench/ as a module named ``bench_<name>``, to reuse its setup.

    Imported by path: under its own name, bench/registry.py would shadow the registry app.
    """
    module_name = f"bench_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            module_name, Path(__file__).resolve().parent / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


# --- the database ---------------------------------------------------------------------------


def _connect(url, *, maintenance=False):
    """A psycopg2 connection to the database of ``url`` (or to its server's ``postgres`` database)."""
    config = dj_database_url.parse(url)
    conn = psycopg2.connect(
        dbname="postgres" if maintenance else config["NAME"],
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        connect_timeout=10,
    )
    conn.autocommit = True
    return conn


def database_name(url):
    return dj_database_url.parse(url)["NAME"]


def database_row_count(url, table):
    """Rows in ``table`` of the database of ``url``; None if the database or table is missing."""
    try:
        conn = _connect(url)
    except psycopg2.OperationalError:
        return None
    with contextlib.closing(conn), conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [table])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cursor.fetchone()[0]


def database_recreate(url):
    """Drop the database of ``url`` (disconnecting its sessions) and create it empty.

    With BENCH_TEMPLATE_DATABASE set (by .ci/run) to a database of the same server that holds
    nothing but the migrated schema, the new database is a copy of it: a migrate from nothing
    costs several seconds of commits on a busy machine, a copy a fraction, and every bench
    still runs ``migrate`` (then with nothing to do). Absent on the server, it is not used.
    """
    name = database_name(url)
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"拒绝重建数据库“{name}”：请给出专用于测试的库名。")
    template = os.environ.get("BENCH_TEMPLATE_DATABASE", "")
    with contextlib.closing(_connect(url, maintenance=True)) as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template and template != name and cursor.fetchone():
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        cursor.execute(create)


def django_setup(url):
    """Configure Django for ``url`` the way production runs (DEBUG off), and set it up.

    Static files are served unhashed, as in the tests: the pages are measured without a
    ``collectstatic`` run.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ["SECRET_KEY"] = "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # The test client speaks plain HTTP: without this, DEBUG off answers every page with a 301
    # to HTTPS (SecurityMiddleware). Behind the TLS proxy of production the pages are the same.
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # WhiteNoise warns that STATIC_ROOT is empty: pages are measured without collectstatic.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    import django
    from django.conf import settings
    from django.test.utils import override_settings

    django.setup()
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        # Accounts are created with a password; the default hasher would only slow the setup.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ).enable()


def server_version():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        return f"PostgreSQL {version}（排序规则 {cursor.fetchone()[0]}）"


def not_null_columns(table):
    """The columns of ``table`` a COPY must fill: NOT NULL, no default, not generated."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO'
              AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'
            """,
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def copy_rows(table, columns, rows, *, chunk_size=COPY_CHUNK):
    """Load ``rows`` (tuples in the order of ``columns``; None is NULL) into ``table`` with COPY,
    ``chunk_size`` rows per in-memory CSV buffer. Returns the number of rows loaded.

    A second thread writes the next buffer while the server takes the current one. Refuses to
    start if a NOT NULL column without default is missing from ``columns``.
    """
    from django.db import connection

    missing = not_null_columns(table) - set(columns)
    if missing:
        raise SystemExit(f"{table} 的非空列未填：{', '.join(sorted(missing))}（表结构已变，请更新基准脚本）")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '\\N')").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    buffers = queue.Queue(maxsize=2)

    def produce():
        try:
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, chunk_size)):
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerows(
                    [r"\N" if value is None else value for value in row] for row in chunk
                )
                buffer.seek(0)
                buffers.put((len(chunk), buffer))
        except BaseException as error:  # handed to the consumer, which raises it
            buffers.put((0, error))
        else:
            buffers.put((0, None))

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    total = 0
    with connection.cursor() as cursor:
        statement = statement.as_string(cursor.connection)
        while True:
            count, buffer = buffers.get()
            if not count:
                if buffer is not None:
                    raise buffer
                break
            cursor.copy_expert(statement, buffer)
            total += count
    producer.join()
    return total


def indexes_drop(*tables):
    """Drop the indexes of ``tables`` that back no constraint; returns their definitions for
    :func:`indexes_create`. Building an index once after a COPY is faster than keeping it up
    to date row by row during it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in indexes]


def indexes_create(definitions):
    from django.db import connection

    with connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: run their pending checks now,
        # or CREATE INDEX refuses a table with pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


def vacuum_analyze(*tables):
    """VACUUM ANALYZE ``tables`` (outside any transaction)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            statement = sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table))
            cursor.execute(statement.as_string(cursor.connection))


def explain(query):
    """EXPLAIN (ANALYZE, BUFFERS) of a SELECT as captured by CaptureQueriesContext. Anything else
    is not run again: EXPLAIN ANALYZE would execute an INSERT or UPDATE for real."""
    from django.db import connection

    if not query.lstrip().upper().startswith("SELECT"):
        return ["（不是 SELECT，不做 EXPLAIN ANALYZE）"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
        return [row[0] for row in cursor.fetchall()]


def sql_short(query):
    """``query`` with a long SELECT list cut to its number of columns, for reading."""
    match = re.match(r"(?s)SELECT (.{300,}?) FROM ", query)
    if not match:
        return query
    columns = match.group(1).count(", ") + 1
    return f"SELECT …{columns} 列… FROM " + query[match.end() :]


@contextlib.contextmanager
def stopwatch(label):
    """Print how long the block took; yields a list to which the seconds are appended."""
    start = time.perf_counter()
    elapsed = []
    yield elapsed
    elapsed.append(time.perf_counter() - start)
    print(f"{label}：{elapsed[0]:.1f} 秒", flush=True)


# --- synthetic people -----------------------------------------------------------------------

# Surnames with rough weights for Henan (王, 李, 张 and 刘 alone are about a third of people).
SURNAME_WEIGHTS = {
    "王": 9.5,
    "李": 8.0,
    "张": 8.5,
    "刘": 6.5,
    "陈": 3.0,
    "杨": 3.2,
    "赵": 2.8,
    "黄": 1.2,
    "周": 1.8,
    "吴": 1.0,
    "徐": 1.3,
    "孙": 2.0,
    "马": 2.0,
    "朱": 1.3,
    "胡": 1.2,
    "郭": 2.0,
    "何": 0.6,
    "高": 1.6,
    "林": 0.4,
    "罗": 0.5,
    "郑": 1.0,
    "梁": 0.8,
    "谢": 0.5,
    "宋": 1.2,
    "唐": 0.6,
    "许": 0.9,
    "韩": 1.0,
    "冯": 0.9,
    "邓": 0.5,
    "曹": 0.8,
    "彭": 0.4,
    "田": 0.8,
    "董": 0.7,
    "袁": 0.5,
    "于": 0.6,
    "杜": 0.7,
    "程": 0.6,
    "魏": 0.7,
    "吕": 0.6,
    "丁": 0.5,
    "任": 0.6,
    "姚": 0.4,
    "崔": 0.5,
    "贾": 0.5,
    "史": 0.4,
    "侯": 0.4,
    "孟": 0.4,
    "闫": 0.5,
    "段": 0.3,
    "申": 0.3,
}
BOY_CHARS = "浩宇子轩梓涵俊杰博文昊天一鸣嘉豪皓辰泽明思远志强家乐铭晨睿琪宏伟建国正阳"
GIRL_CHARS = "欣怡梓涵诗雨思琪佳怡雨萱子涵可馨紫萱梦瑶一诺艺涵若汐语桐晓雪静雅婷婷佳琪"
ELDER_MALE_CHARS = "建国保国国强富贵长山金海德胜文华振兴志刚永生春生有才学军"
ELDER_FEMALE_CHARS = "秀英桂兰玉兰秀兰桂英凤英淑珍玉梅春花素芳翠花金凤秀珍爱华"
WORK_CITIES = (
    "郑州市",
    "北京市",
    "上海市",
    "广州市",
    "深圳市",
    "东莞市",
    "苏州市",
    "杭州市",
    "天津市",
    "宁波市",
    "佛山市",
    "濮阳市",
    "新乡市",
    "石家庄市",
    "济南市",
)
PHONE_HEADS = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156")
PHONE_HEADS += ("157", "158", "159", "166", "176", "177", "178", "180", "181", "185", "186", "187", "188")


@dataclass
class People:
    """Deterministic generator of names, phones and distinct valid ID numbers (GB 11643)."""

    seed: int = 410900
    rng: random.Random = field(init=False)
    _issued: dict = field(init=False, default_factory=dict)
    _adults: dict = field(init=False, default_factory=dict)
    _phones: list = field(init=False, default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self._surnames = list(SURNAME_WEIGHTS)
        self._surname_cum = list(_cumulative(SURNAME_WEIGHTS.values()))

    def surname(self):
        return self.rng.choices(self._surnames, cum_weights=self._surname_cum)[0]

    def given_name(self, male, *, elder=False):
        chars = (
            (ELDER_MALE_CHARS if male else ELDER_FEMALE_CHARS)
            if elder
            else (BOY_CHARS if male else GIRL_CHARS)
        )
        if elder or self.rng.random() < 0.75:
            start = 2 * int(self.rng.random() * (len(chars) // 2))
            return chars[start : start + 2]
        return chars[int(self.rng.random() * len(chars))]

    def name(self, male, *, surname=None, elder=False):
        return (surname or self.surname()) + self.given_name(male, elder=elder)

    def phone(self):
        """A mobile number from a pool of 100,000 (a pool keeps generating a million rows fast)."""
        if not self._phones:
            self._phones = [
                f"{self.rng.choice(PHONE_HEADS)}{self.rng.randrange(10**8):08d}" for _ in range(100_000)
            ]
        return self._phones[int(self.rng.random() * len(self._phones))]

    def id_number(self, county, birth_date, male):
        """A valid ID number never issued before by this generator: ``county`` (6 digits), birth
        date, a sequence whose last digit is odd for a man, and the MOD 11-2 check digit."""
        key = (county, birth_date, male)
        k = self._issued.get(key, 0)
        if k >= 500:
            raise ValueError(f"{county} {birth_date}：同日同性别的顺序码已用尽")
        self._issued[key] = k + 1
        body = f"{county}{birth_date:%Y%m%d}{2 * k + (1 if male else 0):03d}"
        return body + ric.calc_check_digit(body + "0")

    def adult_id_number(self, county, birth_year, male):
        """A valid ID number of an adult born in ``birth_year``, from a pool of 64 per county, year
        and sex (adults' numbers need not be distinct: siblings share parents)."""
        key = (county, birth_year, male)
        pool = self._adults.get(key)
        if pool is None:
            pool = self._adults[key] = []
            for _ in range(64):
                birth = date(birth_year, 1, 1) + timedelta(days=self.rng.randrange(365))
                body = f"{county}{birth:%Y%m%d}{2 * self.rng.randrange(500) + (1 if male else 0):03d}"
                pool.append(body + ric.calc_check_digit(body + "0"))
        return pool[int(self.rng.random() * 64)]


def _cumulative(weights):
    total = 0
    for weight in weights:
        total += weight
        yield total


def spread(total, weights):
    """Split ``total`` into integers proportional to ``weights`` (largest remainders), summing to it."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- the size of a run ------------------------------------------------------------------------

QUICK_HELP = (
    "小规模快速运行（.ci/run 每次都跑）：几千条记录、几秒钟，只检查脚本能跑通、页面状态与数据正确；"
    "耗时照常打印但不评判（CI 机器上的耗时说明不了问题）。单独给出的参数仍然优先"
)


def parse_args_quick(parser, **small):
    """Add ``--quick`` to ``parser`` and parse the command line: with it, ``small`` (option
    dests and values) become the defaults, so every bench takes one uniform flag for a small
    run while an option given explicitly still wins. ``args.quick`` tells the bench not to judge
    its timing targets."""
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(**small)
    return parser.parse_args()


# --- signing in -------------------------------------------------------------------------------


def second_factor_code(user):
    """The code ``user``'s phone would show now, from a fresh confirmed TOTP device (as after
    enrolling a phone: enrolment is a page of its own, not what a bench measures, and its first
    use may need a one-time code from the security administrator). An earlier device is replaced:
    one left by an earlier run may have used this time step already. For a bench that signs in
    over HTTP, to type on /otp/verify/ after the password; :func:`sign_in` uses it too."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import otp

    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=otp.DEVICE_NAME, confirmed=True)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{code:0{device.digits}d}"


def sign_in(client, user, password):
    """Sign ``user`` in on Django's test ``client`` the way the person does, through the pages:
    the login form with the password, then, for a role that must use a second factor
    (accounts.otp.otp_required: the city office, the administrators), a code on the /otp/verify/
    page. Stops the bench, saying where, if any step is refused or the home page does not open.

    The second factor is real, not a marked session: the user gets a confirmed TOTP device and
    the code is computed from its key for the current time step, as the phone's authenticator
    does (:func:`second_factor_code`); django-otp verifies it on the page and records the step,
    as at every real login.
    """
    from django.urls import reverse

    from accounts import otp

    response = client.post(reverse("login"), {"username": user.username, "password": password})
    if response.status_code != 302:
        status = response.status_code
        raise SystemExit(f"{user.username} 登录失败：登录页返回 {status}（密码不对或账号被锁？）")
    if otp.otp_required(user):
        response = client.post(reverse("otp_verify"), {"token": second_factor_code(user), "next": "/"})
        if response.status_code != 302:
            raise SystemExit(f"{user.username} 两步验证未通过：验证页返回 {response.status_code}")
    response = client.get(reverse("home"))
    if response.status_code != 200:
        where = response.get("Location", "")
        raise SystemExit(f"{user.username} 登录后首页返回 {response.status_code} {where}".rstrip())


# --- measuring pages ------------------------------------------------------------------------


@dataclass
class Measurement:
    page: str
    user: str
    url: str
    times_ms: list
    queries: list
    slowest_sql: str
    slowest_sql_ms: float
    target_ms: float = TARGET_P95_MS
    status: int = 200

    @property
    def median(self):
        return statistics.median(self.times_ms)

    @property
    def p95(self):
        """Nearest-rank 95th percentile."""
        ordered = sorted(self.times_ms)
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]

    @property
    def query_counts(self):
        counts = sorted(set(self.queries))
        return str(counts[0]) if len(counts) == 1 else "/".join(map(str, counts))

    @property
    def passed(self):
        return self.p95 < self.target_ms


def measure(client, url, *, page, user, requests, warmup=3, target_ms=TARGET_P95_MS, status=200):
    """Time ``requests`` GETs of ``url`` after ``warmup`` untimed ones; count each one's queries
    and keep the slowest SQL statement seen. Any status but ``status`` (200 unless told) stops
    the benchmark; the p95 passes under ``target_ms``."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    times, counts = [], []
    slowest_sql, slowest_ms = "", -1.0
    for index in range(warmup + requests):
        reset_queries()  # the log keeps 9,000 queries; past that CaptureQueriesContext sees none
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != status:
            raise SystemExit(f"{page}（{user}）{url} 返回 {response.status_code}")
        if index < warmup:
            continue
        times.append(elapsed)
        counts.append(len(captured.captured_queries))
        for query in captured.captured_queries:
            if float(query["time"]) * 1000 > slowest_ms:
                slowest_sql, slowest_ms = query["sql"], float(query["time"]) * 1000
    return Measurement(page, user, url, times, counts, slowest_sql, slowest_ms, target_ms, status)


def _width(text):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def print_table(headers, rows, *, right=()):
    """Print ``rows`` under ``headers``, columns aligned for Chinese text; ``right``: indexes of
    columns aligned right (numbers)."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(_width(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        parts = []
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (width - _width(cell))
            parts.append(pad + cell if index in right else cell + pad)
        return "  ".join(parts).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def wait_until_serving(base, log, tries=150):
    """Wait until the server at ``base`` answers its login page (every 0.2 s, ``tries`` times)."""
    for _ in range(tries):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(base + "/login/", timeout=2).read()
            return
        time.sleep(0.2)
    raise SystemExit("gunicorn 未能启动，见日志 " + log.name)
