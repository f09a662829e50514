"""Hostile roster uploads against a running server (issue 12 item 2): each must be refused in the
request, in Chinese, and leave the server alive.

    .venv/bin/python bench/hostile.py [--database-url URL] [--quick] [--keep]

On PostgreSQL (--database-url, or DATABASE_URL in the environment; the database is dropped and
recreated) or, with neither, on a SQLite file in a temporary directory, it migrates, loads the
regions of 410900 and a county officer of 清丰县, starts gunicorn (one worker, so that every
upload meets the same process) and the background worker (``manage.py db_worker``), signs in
over HTTP and POSTs each file to /import/ as the officer's browser does:

- the 2 KB sparse workbook (a header and one cell at NTP150000, with and without <dimension>)
  that made python-calamine allocate 48 GB and abort the worker;
- 300,000 rows (with and without <dimension>); 100,000 empty rows (xlsx and CSV); 10,000
  columns with real header names (xlsx and CSV); a sparse legacy .xls (a cell at its last row
  and column: a 65,536 × 256 grid);
- zip bombs (300 MB of blank space in 300 KB; a part whose headers declare a small size while
  its stream inflates to 300 MB; 3,000,000 shared strings in 100 KB), XXE (an external entity)
  and billion laughs;
- and, for comparison, a normal 20-row roster, which must be accepted (a job created).

For each it prints: refused in the request (y/n: an answer with the message on the form and no
import job created), the message, the seconds the request took, server alive after (y/n: the
same gunicorn worker answers the login page, the background worker still runs) and the peak
resident memory of the gunicorn worker (VmHWM, since it started) and of the check's child
process (sampled while the request runs; "—" when it ended between two samples). It ends with
PASS when every hostile file was refused and everything stayed alive, else FAIL (exit code 1).

--quick leaves out the files that take seconds to build (the undeclared 300,000 rows, the
100,000 empty xlsx rows, the 10,000 CSV columns, the 300 MB bomb, the full-size .xls) and
makes the lying bomb 16 MB: a run of a few seconds after the setup, for CI.
"""

import argparse
import contextlib
import html
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from functools import partial
from pathlib import Path

import _common

PASSWORD = "Hostile-bench-2025"
USERNAME = "county_hostile"
DEFAULT_DATABASE_NAME = "liushou_bench_hostile"
FORM_ERROR = re.compile(r'<div class="alert alert-danger mt-2 mb-0" role="alert">(.*?)</div>', re.S)
SAMPLE_SECONDS = 0.005
CRASH_SIGNS = ("Traceback", "WORKER TIMEOUT", "was sent", "memory allocation", "Fatal Python error")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--quick", action="store_true", help="只跑生成快的文件（几秒钟，供 CI 使用）")
    parser.add_argument("--keep", action="store_true", help="结束后保留 PostgreSQL 数据库")
    return parser.parse_args()


def cases(quick):
    """(label, builder, expected refused) for every file, the normal roster last."""
    from tests import hostile_files as files

    full = not quick
    listed = [
        ("稀疏表格 NTP150000（有 dimension）", files.sparse_workbook, True),
        ("稀疏表格 NTP150000（无 dimension）", partial(files.sparse_workbook, dimension=False), True),
        ("300,000 行（有 dimension）", partial(files.rows_workbook, 300_000), True),
        full and ("300,000 行（无 dimension）", partial(files.rows_workbook, 300_000, dimension=False), True),
        full and ("100,000 空行 .xlsx", partial(files.empty_rows_workbook, 100_000), True),
        ("100,000 空行 .csv", partial(files.csv_rows, 100_000, blank=True), True),
        ("10,000 列真实表头 .xlsx", partial(files.wide_workbook, 10_000), True),
        full
        and ("10,000 列真实表头 .csv", partial(files.csv_rows, 1, header=files.wide_header(10_000)), True),
        ("稀疏 .xls（第 60001 行）", files.sparse_xls, True),
        full and ("稀疏 .xls（65536 行 × 256 列）", partial(files.sparse_xls, 65_535, 255), True),
        full and ("zip 炸弹（300 MB 空白）", files.bomb_workbook, True),
        (
            "zip 炸弹（头部谎报大小）",
            partial(files.lying_bomb_workbook, 16 * 2**20 if quick else 300 * 2**20),
            True,
        ),
        ("3,000,000 个共享字符串", files.strings_workbook, True),
        ("XXE（外部实体）", files.xxe_workbook, True),
        ("billion laughs（实体展开）", files.laughs_workbook, True),
        ("正常花名册 20 行（对照）", normal_roster, False),
    ]
    return [case for case in listed if case]


def normal_roster():
    from tests import hostile_files as files

    lines = [",".join(files.HEADER)]
    lines += [f"儿童{i},,410922100201,祖辈监护,外出务工,外出务工,广东省东莞市," for i in range(1, 21)]
    return ("\n".join(lines) + "\n").encode()


def extension(content):
    from registry.roster import reader

    if content.startswith(reader.ZIP_MAGIC):
        return ".xlsx"
    return ".xls" if content.startswith(reader.OLE2_MAGIC) else ".csv"


# --- the database and the servers ------------------------------------------------------------


def prepare(url):
    """Migrate, load 濮阳市's regions and a county officer of 清丰县 (password hashed as the server
    checks it)."""
    _common.django_setup(url)
    from django.core.management import call_command
    from django.test.utils import override_settings

    from accounts.models import Role, User
    from registry.models import Region

    call_command("migrate", verbosity=0)
    call_command("load_regions", "410900", verbosity=0)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        User.objects.create_user(
            username=USERNAME,
            password=PASSWORD,
            role=Role.COUNTY_OFFICER,
            region=Region.objects.get(code="410922000000"),
            last_name="演练",
        )


def server_env(url):
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@contextlib.contextmanager
def servers(url, log):
    """gunicorn (one worker) and db_worker; yields (base URL, gunicorn master, db_worker)."""
    faults = _common.bench_module("faults")
    port = faults.free_port()
    env = server_env(url)
    gunicorn = subprocess.Popen(
        [str(_common.ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "120"],
        cwd=_common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.5",
         "--worker-id", "hostile"],
        cwd=_common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _common.wait_until_serving(base, log, 150)
        yield base, gunicorn, worker
    finally:
        for process in (worker, gunicorn):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (worker, gunicorn):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
            if process.poll() is None:
                process.kill()


# --- processes ---------------------------------------------------------------------------------


def children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def peak_mb(pid):
    """VmHWM (peak resident memory) of ``pid`` in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class ChildSampler(threading.Thread):
    """Polls the gunicorn worker's child processes (the check's fork) and keeps their peak."""

    def __init__(self, parent):
        super().__init__(daemon=True)
        self.parent, self.peak, self.seen, self.done = parent, None, 0, threading.Event()

    def run(self):
        known = set()
        while not self.done.is_set():
            for pid in children(self.parent):
                known.add(pid)
                peak = peak_mb(pid)
                if peak is not None:
                    self.peak = max(self.peak or 0, peak)
            time.sleep(SAMPLE_SECONDS)
        self.seen = len(known)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


# --- the officer's browser -------------------------------------------------------------------


class Browser:
    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf(self):
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def send(self, path, body=None, content_type=None):
        headers = {"Referer": self.base + path}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, body, headers)
        try:
            with self.opener.open(request, timeout=180) as response:
                return response.status, response.read().decode(errors="replace"), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.url
        except OSError as error:
            return 0, str(error), ""

    def sign_in(self):
        self.send("/login/")
        body = urllib.parse.urlencode(
            {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        ).encode()
        status, page, _ = self.send("/login/", body, "application/x-www-form-urlencoded")
        if status != 200 or 'id="whoami"' not in page:
            raise SystemExit(f"登录失败（{status}）")

    def upload(self, content, name):
        self.send("/import/")
        boundary = uuid.uuid4().hex
        parts = []
        for field, value in (("csrfmiddlewaretoken", self.csrf()), ("category", "child")):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.send("/import/", b"".join(parts), f"multipart/form-data; boundary={boundary}")


def jobs():
    from django.db import connections

    from registry.models import ImportJob

    count = ImportJob.objects.count()
    connections.close_all()  # no transaction held open beside the servers (SQLite)
    return count


def run_case(browser, master, worker, label, build, expect_refused):
    content = build()
    (gunicorn_worker,) = children(master.pid) or (None,)
    before = jobs()
    sampler = ChildSampler(gunicorn_worker)
    sampler.start()
    started = time.perf_counter()
    status, page, _ = browser.upload(content, "花名册" + extension(content))
    seconds = time.perf_counter() - started
    child_peak = sampler.stop()
    errors = [html.unescape(e).strip() for e in FORM_ERROR.findall(page)]
    created = jobs() - before
    refused = status in (400, 413) and bool(errors) and created == 0
    after = children(master.pid)
    login, _, _ = browser.send("/login/")
    alive = after == [gunicorn_worker] and login == 200 and worker.poll() is None and master.poll() is None
    message = errors[0] if errors else ("已受理（创建导入任务）" if created else f"状态 {status}")
    return {
        "label": label,
        "size": len(content),
        "refused": refused,
        "expected": refused == expect_refused,
        "message": message,
        "seconds": seconds,
        "alive": alive,
        "worker_peak": peak_mb(gunicorn_worker),
        "child_peak": child_peak,
    }


def megabytes(value):
    return "—" if value is None else f"{value:.0f}"


def main():
    args = parse_args()
    _common.use_project_root()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"收到信号 {signal.strsignal(signum)}"))
    with contextlib.ExitStack() as stack:
        url = args.database_url
        if url.startswith("postgres"):
            url = url if _common.database_name(url) else f"{url.rstrip('/')}/{DEFAULT_DATABASE_NAME}"
            _common.database_recreate(url)
        else:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="liushou-hostile-"))
            url = f"sqlite:///{directory}/hostile.sqlite3"
        print(f"数据库：{url}")
        with _common.stopwatch("迁移、载入濮阳市区划与 1 名县级民政账号"):
            prepare(url)
        from registry.roster import reader

        print(
            f"上限：{reader.MAX_ROWS:,} 行、{reader.MAX_COLUMNS} 列、{reader.MAX_BLANK_ROWS:,} 个空行；"
            f"检查子进程内存 +{reader.CHECK_MEMORY_BYTES // 2**20} MB、{reader.CHECK_SECONDS} 秒"
        )
        log = stack.enter_context(tempfile.NamedTemporaryFile("w+", prefix="hostile-servers-", suffix=".log"))
        base, master, worker = stack.enter_context(servers(url, log))
        browser = Browser(base)
        browser.sign_in()
        print(f"gunicorn（1 个工作进程，pid {children(master.pid)}）与 db_worker 已启动，已登录 {USERNAME}\n")
        results = []
        for label, build, expect_refused in cases(args.quick):
            result = run_case(browser, master, worker, label, build, expect_refused)
            results.append(result)
            mark = "✓" if result["expected"] and result["alive"] else "✗"
            print(f"{mark} {label}：{result['seconds']:.2f} 秒，{result['message'][:60]}", flush=True)
        log.seek(0)
        lines = log.read().splitlines()
        crashes = [line for line in lines if any(sign in line for sign in CRASH_SIGNS)]
        crashes += [line for line in lines if "Booting worker" in line][1:]  # a worker started again

    print()
    _common.print_table(
        ["文件", "大小 KB", "请求内拒绝", "秒", "服务存活", "工作进程峰值 MB", "检查子进程峰值 MB", "提示"],
        [
            [
                r["label"],
                f"{r['size'] / 1024:,.0f}",
                "y" if r["refused"] else "n",
                f"{r['seconds']:.2f}",
                "y" if r["alive"] else "n",
                megabytes(r["worker_peak"]),
                megabytes(r["child_peak"]),
                r["message"],
            ]
            for r in results
        ],
        right=(1, 3, 5, 6),
    )
    print(
        f"\n服务日志中的崩溃/超时/信号：{len(crashes)} 行" + "".join(f"\n  {line}" for line in crashes[:10])
    )
    passed = all(r["expected"] and r["alive"] for r in results) and not crashes
    print("PASS" if passed else "FAIL")
    if url.startswith("postgres") and not args.keep:
        from django.db import connections

        connections.close_all()
        with contextlib.closing(_common._connect(url, maintenance=True)) as conn, conn.cursor() as cursor:
            cursor.execute(
                _common.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    _common.sql.Identifier(_common.database_name(url))
                )
            )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
