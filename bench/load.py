"""Load test over real HTTP (issue 6 item 8): gunicorn + PostgreSQL on loopback, village cadres
entering and editing children and officers reloading their dashboards, for a bounded time.

    .venv/bin/python bench/load.py [--seconds 60] [--cadres 50] [--officers 5] [--think 1.0]
                                   [--children N] [--workers W] [--threads 2] [--database-url URL]
                                   [--quick]

It drops and recreates its own database (default liushou_bench_load), migrates, loads the regions
of 410900 with the demo villages, N children by COPY (default 15,362, the 2022 campaign's total,
aged on its reference date), the accounts of bench/survey.py and the demo's 2022 campaign in
progress (returns in the demo's mix of states). It gives known passwords (hashed with the
production hasher) and no forced password change to --cadres cadres of as many villages whose
return is not approved (approval locks a village's records) and --officers officers (county
officers and township reviewers), then starts gunicorn on 127.0.0.1 (DEBUG off, plain HTTP:
SECURE_SSL_REDIRECT=0, SECURE_COOKIES=0, SECURE_HSTS_SECONDS=0).

gunicorn runs as production should (README, Deploying): gthread workers, 2 × cores + 1 of them
(gunicorn's own rule; 5 on a 2-core host) with 2 threads each. A request is mostly Python (the
database answers on loopback in a millisecond or two), and the threads of one process share one
interpreter lock: 3 workers × 4 threads on 2 cores queued requests behind each other's lock and
spent more CPU per request (on the 2-core bench host, same code: p95 306 ms and 13 ms CPU per
request against 142 ms and 10 ms with 5 × 2; 5 × 1 measured the same as 5 × 2). The second
thread lets a worker answer while the other waits on the database or a slow client.

Every user is a thread with its own keep-alive connection and cookies (http.client) that logs in
through the login form with its CSRF token before the clock starts. Then, for --seconds:

- a cadre loops: open the new-child form, post a valid child (a fresh valid ID number), follow
  the redirect to its page, open its edit page, post an edit, follow the redirect, view the list;
- an officer loops: home page, then the campaign's progress page of their county or township.

Each user waits --think seconds (uniformly 0.5–1.5 ×) between requests; --think 0 is a closed
loop at saturation. It prints requests/s, p50/p95/p99 per request type and overall, the errors
(any status but 2xx/3xx, a form sent back with errors, or an exception) with samples, and the
integrity check: the children the cadres created in the database are exactly the successful
creates (nothing lost, nothing doubled), and every successful edit is stored. Target: 0 errors
and p95 under 500 ms. It also prints the CPU time gunicorn and the PostgreSQL backends spent
during the run per request, and the request rate that would saturate the machine's cores:
latencies depend on whatever else the machine runs, that figure much less. The server is stopped
at the end, also on Ctrl-C. --quick (for .ci/run): 2,000 children, 3 cadres and 2 officers for
5 seconds on 2 workers; errors and the integrity check are judged, the p95 is not.
"""

import argparse
import contextlib
import html
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import _common
from _common import stopwatch

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liushou_bench_load"
DEMO_CHILDREN = 15_362
PASSWORD = "bench-Load-2025"
HOST = "127.0.0.1"
TARGET_P95_MS = 500
REQUEST_TIMEOUT = 60
EDIT_NOTE = "负载测试修改"
SAMPLES = 5
DEFAULT_WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn's rule of thumb, as in production
# What a cadre types for a new child, besides village, name and ID number (sex and birth date
# left to the ID number).
CHILD_FIELDS = {
    "sex": "",
    "birth_date": "",
    "ethnicity": "汉族",
    "health": "healthy",
    "schooling": "primary",
    "school_name": "中心小学",
    "grade": "三年级",
    "father_name": "张大山",
    "father_status": "away_working",
    "father_work_place": "广东省东莞市",
    "mother_name": "李小花",
    "mother_status": "away_working",
    "mother_work_place": "浙江省杭州市",
    "guardianship_type": "grandparent",
    "guardian_name": "张老汉",
    "guardian_relation": "grandparent",
    "guardian_phone": "13812345678",
    "guardian_assessment": "good",
}
WSGI_MODULE = "liushou_bench_wsgi"
# Static files are rendered unhashed, as in the other benches: no collectstatic into the checkout.
WSGI_SOURCE = """\
from config.wsgi import application  # noqa: F401  (sets Django up)
from django.conf import settings
from django.test.utils import override_settings

override_settings(
    STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
).enable()
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="计时时长（秒，默认 60）")
    parser.add_argument("--cadres", type=int, default=50, help="模拟村干部数（默认 50，各在不同的村）")
    parser.add_argument("--officers", type=int, default=5, help="模拟县、乡镇干部数（默认 5）")
    parser.add_argument("--think", type=float, default=1.0, help="两次请求之间的平均思考时间（秒，默认 1.0）")
    parser.add_argument("--children", type=int, default=DEMO_CHILDREN, help="预置儿童记录数（默认 15,362）")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"gunicorn 进程数（默认 2×核数+1，本机 {DEFAULT_WORKERS}）",
    )
    parser.add_argument("--threads", type=int, default=2, help="每个 gunicorn 进程的线程数（默认 2）")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    args = _common.parse_args_quick(parser, seconds=5, cadres=3, officers=2, children=2000, workers=2)
    if args.seconds <= 0 or args.cadres < 0 or args.officers < 0 or args.cadres + args.officers == 0:
        parser.error("--seconds 须为正数，--cadres 与 --officers 不能都为 0")
    return args


# --- the data -------------------------------------------------------------------------------


def setup(args):
    """The database, the campaign and the accounts; returns (campaign, cadres, officers) where
    cadres are (username, village id, village code) and officers (username, region code)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.test.utils import override_settings

    from accounts.models import Role, User
    from registry.models import Region
    from survey.models import VillageReturn

    survey_bench = _common.bench_module("survey")
    registry_bench = _common.bench_module("registry")
    with stopwatch("迁移、区划与账号"):
        call_command("migrate", verbosity=0)
        survey_bench.accounts_load(registry_bench)
    with stopwatch(f"COPY 写入 {args.children:,} 条儿童记录"):
        survey_bench.children_fill(registry_bench, args.children, survey_bench.REFERENCE_DATE)
    with stopwatch("摸底排查：创建、启动，村级报表状态与流转记录"):
        campaign, _ = survey_bench.campaign_load(Region.objects.get(code=survey_bench.CITY_CODE))
    _common.vacuum_analyze("survey_villagereturn", "survey_returnevent", "accounts_user")

    open_returns = (
        VillageReturn.objects.filter(campaign=campaign)
        .exclude(state__in=VillageReturn.LOCKED_STATES)
        .select_related("village")
        .order_by("village__code")
    )
    by_township = defaultdict(list)
    for village_return in open_returns:
        by_township[village_return.village.code[:9]].append(village_return.village)
    # One village per township first, then a second one, and so on: spread over the city.
    villages = [v for round_ in _rounds(by_township) for v in round_][: args.cadres]
    if len(villages) < args.cadres:
        raise SystemExit(f"只有 {len(villages)} 个村的报表未审核，不够 {args.cadres} 个村干部")
    cadres = list(User.objects.filter(role=Role.VILLAGE_CADRE, region__in=villages).select_related("region"))
    cadres = {u.region_id: u for u in cadres}
    missing = [v.code for v in villages if v.id not in cadres]
    if missing:
        raise SystemExit(f"这些村没有村干部账号：{missing[:5]}")
    cadres = [cadres[v.id] for v in villages]

    officers = list(
        User.objects.filter(role=Role.COUNTY_OFFICER, region__code__startswith="4109")
        .select_related("region")
        .order_by("region__code")
    )
    officers = officers[: (args.officers + 1) // 2]
    reviewers = User.objects.filter(role=Role.TOWNSHIP_REVIEWER, region__code__startswith="4109")
    officers += list(
        reviewers.select_related("region").order_by("region__code")[: args.officers - len(officers)]
    )
    if len(officers) < args.officers:
        raise SystemExit(f"县、乡镇账号不够 {args.officers} 个")

    with override_settings(PASSWORD_HASHERS=_default_hashers()):
        password = make_password(PASSWORD)  # the production hasher: logins cost what they cost
    User.objects.filter(pk__in=[u.pk for u in cadres + officers]).update(
        password=password, must_change_password=False, is_active=True
    )
    return (
        campaign,
        [(u.username, u.region_id, u.region.code) for u in cadres],
        [(u.username, u.region.code) for u in officers],
    )


def _rounds(groups):
    lists = [groups[key] for key in sorted(groups)]
    depth = max((len(items) for items in lists), default=0)
    return [[items[i] for items in lists if i < len(items)] for i in range(depth)]


def _default_hashers():
    from django.conf import global_settings

    return global_settings.PASSWORD_HASHERS


# --- the server -----------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_start(args, port, directory):
    """gunicorn (gthread) on 127.0.0.1:port in its own process group; waits until it answers."""
    (directory / f"{WSGI_MODULE}.py").write_text(WSGI_SOURCE)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_HSTS_PRELOAD": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = directory / "gunicorn.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        f"{WSGI_MODULE}:application",
        "--chdir", str(_common.ROOT),
        "--pythonpath", f"{_common.ROOT},{directory}",
        "--bind", f"{HOST}:{port}",
        "--worker-class", "gthread",
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--keep-alive", "30",
        "--timeout", "120",
        "--backlog", "256",
    ]  # fmt: skip
    from gunicorn import config

    # gunicorn ≥ 25.1 opens one control socket per user (~/.gunicorn/gunicorn.ctl): not for a bench.
    if any(setting.name == "control_socket_disable" for setting in config.KNOWN_SETTINGS):
        command.append("--no-control-socket")
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn 启动失败（退出码 {server.returncode}），见 {log}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/login/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return server, log
                raise SystemExit(f"gunicorn 的登录页返回 {status}，见 {log}")
            time.sleep(0.3)
        raise SystemExit(f"gunicorn 60 秒内未就绪，见 {log}")
    except BaseException:
        server_stop(server)
        raise


def server_stop(server):
    """SIGTERM to the server's process group (the arbiter and its workers), SIGKILL if it hangs."""
    if server.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# --- the clients ----------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The fields of every POST form of a page, as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.fields = None
        self._select = self._textarea = None
        self._options = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.fields = []
            self.forms.append(self.fields)
        if self.fields is None:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.fields.append((a["name"], a.get("value") or default))
        elif tag == "select" and a.get("name"):
            self._select, self._options = (a["name"], "multiple" in a), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if self.fields is None:
            return
        if tag == "select" and self._select:
            name, multiple = self._select
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.fields += [(name, value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self.fields = None


def form_fields(page):
    """The fields of the page's largest POST form (not the navigation bar's logout button)."""
    parser = FormParser()
    parser.feed(page)
    return max(parser.forms, key=len, default=[])


def form_errors(page):
    """The error messages a form page shows (Bootstrap's invalid-feedback and alerts)."""
    found = re.findall(
        r'class="[^"]*(?:invalid-feedback|alert-danger|errorlist)[^"]*"[^>]*>(.*?)</', page, re.S
    )
    return [html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in found if text.strip()]


class Stats:
    """Timings and errors of every request, shared by all client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)  # request type → [ms]
        self.errors = defaultdict(list)  # request type → [message]
        self.created = {}  # id number → pk
        self.edited = set()  # pk
        self.cpu = (0.0, 0.0, 0.0)  # gunicorn, PostgreSQL backends, this client (seconds)

    def time(self, kind, ms):
        with self.lock:
            self.times[kind].append(ms)

    def error(self, kind, message):
        with self.lock:
            self.errors[kind].append(message)


class Failed(Exception):
    """A request that failed; already counted."""


class Client:
    """One user's browser: a keep-alive connection, its cookies, no automatic redirects."""

    def __init__(self, port, stats, username):
        self.port, self.stats, self.username = port, stats, username
        self.conn = None
        self.cookies = {}

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, kind, method, path, fields=None, *, timed=True, expect=(200,)):
        """(status, Location, body text); any status outside ``expect`` or an exception is an error."""
        headers = {"User-Agent": "liushou-bench-load", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        # A browser sends a GET again, once, when the server had closed the idle keep-alive
        # connection it reused; a POST is never sent twice.
        attempts = 2 if method == "GET" and self.conn is not None else 1
        for attempt in range(attempts):
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                stale = isinstance(
                    error, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                )
                if stale and attempt + 1 < attempts:
                    started = time.perf_counter()
                    continue
                self.stats.error(kind, f"{method} {path}：{type(error).__name__} {error}")
                raise Failed from None
        elapsed = (time.perf_counter() - started) * 1000
        if timed:
            self.stats.time(kind, elapsed)
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        text = data.decode("utf-8", "replace")
        if response.status not in expect:
            detail = "；".join(form_errors(text)[:3]) if response.status == 200 else text[:200]
            self.stats.error(kind, f"{method} {path} → {response.status} {detail}".strip())
            raise Failed
        return response.status, urlsplit(response.getheader("Location", "")).path, text

    def login(self, password):
        _, _, page = self.request("登录", "GET", "/login/", timed=False)
        fields = dict(form_fields(page))
        fields.update(username=self.username, password=password)
        _, location, _ = self.request("登录", "POST", "/login/", fields, expect=(302,))
        if location != "/":
            self.stats.error("登录", f"{self.username} 登录后转到 {location}（应为首页）")
            raise Failed
        self.request("登录", "GET", "/", timed=False)


def _pause(rng, think, deadline):
    if think > 0:
        time.sleep(max(0.0, min(think * rng.uniform(0.5, 1.5), deadline - time.monotonic())))


def cadre_loop(client, village_id, county, ids, rng, think, deadline):
    stats = client.stats
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            _, _, page = client.request("新增表单 GET", "GET", "/children/new/")
            _pause(rng, think, deadline)
            fields = dict(form_fields(page))
            male = rng.random() < 0.53
            id_number = ids(county, male)
            fields.update(
                village=str(village_id),
                name=f"{rng.choice('王李张刘陈杨赵')}{rng.choice('浩宇子轩梓涵俊杰欣怡诗雨')}{n % 10}",
                id_number=id_number,
                **CHILD_FIELDS,
            )
            _, location, _ = client.request("新增提交 POST", "POST", "/children/new/", fields, expect=(302,))
            match = re.fullmatch(r"/children/(\d+)/", location)
            if not match:
                stats.error("新增提交 POST", f"新增后转到 {location}")
                continue
            pk = int(match[1])
            with stats.lock:
                stats.created[id_number] = pk
            client.request("详情 GET", "GET", location)
            _pause(rng, think, deadline)
            _, _, page = client.request("编辑表单 GET", "GET", f"/children/{pk}/edit/")
            _pause(rng, think, deadline)
            fields = form_fields(page)
            fields = [(k, v) for k, v in fields if k not in ("note", "guardian_phone")]
            fields += [("note", f"{EDIT_NOTE}{pk}"), ("guardian_phone", "13987654321")]
            _, location, _ = client.request(
                "编辑提交 POST", "POST", f"/children/{pk}/edit/", fields, expect=(302,)
            )
            with stats.lock:
                stats.edited.add(pk)
            client.request("详情 GET", "GET", location)
            _pause(rng, think, deadline)
            client.request("列表 GET", "GET", "/children/")
            _pause(rng, think, deadline)
        except Failed:
            _pause(rng, think, deadline)


def officer_loop(client, progress, rng, think, deadline):
    while time.monotonic() < deadline:
        try:
            client.request("首页 GET", "GET", "/")
            _pause(rng, think, deadline)
            client.request("进度 GET", "GET", progress)
            _pause(rng, think, deadline)
        except Failed:
            _pause(rng, think, deadline)


class IdNumbers:
    """Valid ID numbers of children aged 0–15 on the campaign's reference date, never issued
    before: sequence numbers 800–999, which the COPY-loaded children (bench/registry.py's People,
    sequences from 000 up) do not reach."""

    def __init__(self, reference_date, seed=2025):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.oldest = reference_date.replace(year=reference_date.year - 16) + timedelta(days=1)
        self.span = (reference_date - self.oldest).days
        self.issued = {}

    def __call__(self, county, male):
        from stdnum.cn import ric

        with self.lock:
            while True:
                birth = self.oldest + timedelta(days=self.rng.randrange(self.span))
                key = (county, birth, male)
                k = self.issued.get(key, 400)
                if k < 500:
                    break
            self.issued[key] = k + 1
        body = f"{county}{birth:%Y%m%d}{2 * k + (1 if male else 0):03d}"
        return body + ric.calc_check_digit(body + "0")


def _cpu_seconds(pids):
    """User + system CPU seconds of ``pids`` so far (from /proc; 0 for a process gone)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(server):
    """The gunicorn arbiter, its workers and the PostgreSQL backends of the bench database."""
    from django.db import connection

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                workers.append(int(stat.parent.name))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    connection.close()
    return [server.pid, *workers], backends


def run_clients(args, port, campaign, cadres, officers, server):
    stats = Stats()
    ids = IdNumbers(campaign.reference_date)
    users = [("cadre", *cadre) for cadre in cadres] + [("officer", *officer) for officer in officers]
    clients = {}

    def login(entry):
        client = Client(port, stats, entry[1])
        try:
            client.login(PASSWORD)
        except Failed:
            return
        clients[entry[1]] = client

    with stopwatch(f"{len(users)} 个用户经登录表单登录（每个用户先取 CSRF 令牌）"):
        threads = [threading.Thread(target=login, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    logins = stats.times.pop("登录", [])
    if logins:
        print(f"  登录 POST：中位数 {statistics.median(logins):.0f} ms，最慢 {max(logins):.0f} ms")
    if len(clients) < len(users):
        print(f"  {len(users) - len(clients)} 个用户登录失败，不参加负载：{stats.errors['登录'][:3]}")

    for client in clients.values():
        client.close()  # idle since its login, longer than gunicorn's keep-alive for some
    app_pids, db_pids = server_pids(server)
    cpu_before = (_cpu_seconds(app_pids), _cpu_seconds(db_pids), time.process_time())
    started = time.monotonic()
    deadline = started + args.seconds
    threads = []
    for index, entry in enumerate(users):
        client = clients.get(entry[1])
        if client is None:
            continue
        rng = random.Random(index)
        if entry[0] == "cadre":
            _, _, village_id, code = entry
            target, params = cadre_loop, (client, village_id, code[:6], ids, rng, args.think, deadline)
        else:
            _, _, code = entry
            progress = f"/survey/{campaign.pk}/progress/{code}/"
            target, params = officer_loop, (client, progress, rng, args.think, deadline)
        threads.append(threading.Thread(target=target, args=params, daemon=True))
    print(f"开始：{len(threads)} 个用户并发 {args.seconds:.0f} 秒，平均思考时间 {args.think} 秒", flush=True)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
    elapsed = time.monotonic() - started
    new_db_pids = set(server_pids(server)[1]) - set(db_pids)
    stats.cpu = (
        _cpu_seconds(app_pids) - cpu_before[0],
        _cpu_seconds(db_pids) - cpu_before[1] + _cpu_seconds(new_db_pids),
        time.process_time() - cpu_before[2],
    )
    for client in clients.values():
        client.close()
    return stats, elapsed


# --- the report -----------------------------------------------------------------------------


def percentile(ordered, p):
    """Nearest-rank percentile of an ordered list."""
    return ordered[max(0, -(-p * len(ordered) // 100) - 1)]


def report(stats, elapsed):
    rows = []
    everything = []
    kinds = sorted(set(stats.times) | set(stats.errors), key=lambda k: (k.split()[0] in ("首页", "进度"), k))
    for kind in kinds:
        times = sorted(stats.times.get(kind, []))
        everything += times
        errors = len(stats.errors.get(kind, []))
        rows.append(_row(kind, times, errors, elapsed))
    errors_total = sum(len(v) for v in stats.errors.values())
    rows.append(_row("合计", sorted(everything), errors_total, elapsed))
    _common.print_table(
        ["请求", "次数", "请求/秒", "p50 ms", "p95 ms", "p99 ms", "最慢 ms", "错误"],
        rows,
        right=(1, 2, 3, 4, 5, 6, 7),
    )
    for kind, messages in stats.errors.items():
        if messages:
            print(f"\n错误样例：{kind}（{len(messages)} 个）")
            for message in messages[:SAMPLES]:
                print(f"  {message[:300]}")
    overall_p95 = percentile(sorted(everything), 95) if everything else float("inf")
    return errors_total, overall_p95


def _row(kind, times, errors, elapsed):
    if not times:
        return (kind, 0, "0.0", "-", "-", "-", "-", errors)
    return (
        kind,
        len(times),
        f"{len(times) / elapsed:.1f}",
        f"{percentile(times, 50):.0f}",
        f"{percentile(times, 95):.0f}",
        f"{percentile(times, 99):.0f}",
        f"{times[-1]:.0f}",
        errors,
    )


def integrity(stats, cadres):
    """Children created by the cadres in the database == the successful creates; edits stored."""
    from accounts.models import User
    from registry.models import Child

    cadre_ids = User.objects.filter(username__in=[c[0] for c in cadres]).values_list("pk", flat=True)
    stored = dict(Child.objects.filter(created_by__in=list(cadre_ids)).values_list("id_number", "pk"))
    created = stats.created
    lost = sorted(set(created) - set(stored))
    unexpected = sorted(set(stored) - set(created))
    doubled = list(
        Child.objects.filter(id_number__in=list(created))
        .values("id_number")
        .annotate(n=_count())
        .filter(n__gt=1)
        .values_list("id_number", flat=True)
    )
    edited = Child.objects.filter(pk__in=stats.edited, note__startswith=EDIT_NOTE, version__gte=2).count()
    print(
        f"\n完整性：成功新增 {len(created):,} 条，库中这些村干部新增的儿童 {len(stored):,} 条；"
        f"丢失 {len(lost)}，多出 {len(unexpected)}，身份证号重复 {len(doubled)}；"
        f"成功修改 {len(stats.edited):,} 条，库中已保存修改的 {edited:,} 条"
    )
    for label, items in (("丢失", lost), ("多出", unexpected), ("重复", doubled)):
        if items:
            print(f"  {label}样例：{items[:SAMPLES]}")
    return not (lost or unexpected or doubled) and len(stored) == len(created) and edited == len(stats.edited)


def _count():
    from django.db.models import Count

    return Count("id")


def server_errors(log):
    """Tracebacks and worker timeouts in the server's log (the first lines of each)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = re.findall(r"(?m)^(?:Internal Server Error|.*WORKER TIMEOUT|.*Traceback).*$", text)
    return found


def main():
    args = parse_args()
    url = args.database_url
    _common.database_recreate(url)
    _common.use_project_root()
    _common.django_setup(url)
    print(f"数据库 {_common.database_name(url)}：{_common.server_version()}")
    campaign, cadres, officers = setup(args)
    print(
        f"{campaign.name}（基准日 {campaign.reference_date}）；{len(cadres)} 个村干部（{len(cadres)} 个村，"
        f"报表未审核），{len(officers)} 个县、乡镇干部：{'、'.join(code for _, code in officers)}"
    )
    from django.db import connections

    connections.close_all()
    directory = Path(tempfile.mkdtemp(prefix="liushou_bench_load_"))
    port = free_port()
    server, log = server_start(args, port, directory)
    print(
        f"gunicorn（gthread，{args.workers} 进程 × {args.threads} 线程）监听 {HOST}:{port}，"
        f"DEBUG 关闭，日志 {log}；本机 {os.cpu_count()} 核，1 分钟平均负载 {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    try:
        stats, elapsed = run_clients(args, port, campaign, cadres, officers, server)
    finally:
        server_stop(server)
    print(
        f"\n== {elapsed:.1f} 秒，{len(cadres)} 个村干部 + {len(officers)} 个县乡干部，"
        f"思考时间 {args.think} 秒"
    )
    errors, p95 = report(stats, elapsed)
    requests = sum(len(times) for times in stats.times.values())
    if requests:
        app, db, client = stats.cpu
        per_request = (app + db) / requests * 1000
        print(
            f"计时期间 CPU：gunicorn {app:.1f} 秒，PostgreSQL 后端 {db:.1f} 秒，压测客户端 {client:.1f} 秒；"
            f"服务端每请求 {per_request:.0f} ms CPU，即独占 {os.cpu_count()} 核时约 "
            f"{os.cpu_count() * 1000 / per_request:.0f} 请求/秒的上限"
        )
    print(f"（计时后 1 分钟平均负载 {os.getloadavg()[0]:.2f}）")
    crashes = server_errors(log)
    if crashes:
        print(f"\n服务器日志中的错误 {len(crashes)} 处（{log}），前 {SAMPLES} 处：")
        print("\n".join(f"  {line}" for line in crashes[:SAMPLES]))
    intact = integrity(stats, cadres)
    if not crashes:
        shutil.rmtree(directory, ignore_errors=True)
    fast = p95 < TARGET_P95_MS
    print(
        f"\n错误 {errors} 个（目标 0）：{'PASS' if errors == 0 else 'FAIL'}；"
        f"总体 p95 {p95:.0f} ms（目标 < {TARGET_P95_MS} ms）："
        f"{'不评判（--quick）' if args.quick else 'PASS' if fast else 'FAIL'}；"
        f"完整性：{'PASS' if intact else 'FAIL'}"
    )
    return 0 if errors == 0 and (fast or args.quick) and intact else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the server was stopped by main's finally
        sys.exit(130)
