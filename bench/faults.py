"""Two faults of production, provoked on a real server, and what a user of the site sees:

1. PostgreSQL restarts under the running application (an upgrade, a crash, a failover). Every
   gunicorn worker holds a persistent connection (CONN_MAX_AGE) that the restart kills;
   CONN_HEALTH_CHECKS must replace it before a request uses it, so no request fails and nobody
   has to restart the application.
2. Someone holds a record's row lock (a long save, an import): a second save of that record
   must fail after DB_LOCK_TIMEOUT_MS (5 s) with 该记录正由他人保存中，请稍后重试, not hang.

    .venv/bin/python bench/faults.py [--database-url URL] [--cluster "15 main"] [--requests N] [--keep]
                                     [--own-cluster] [--quick]

It recreates the database of URL (default liushou_faults), migrates it, loads 濮阳市's regions,
a county officer of 清丰县 and one child, starts gunicorn (2 workers, DEBUG=1 so that static files
need no collectstatic) on a free port, signs in over HTTP and then:

- makes N requests of the home page and the children's list (each worker's connection opened),
  restarts the cluster with ``pg_ctlcluster VERSION NAME restart``, makes N requests again, and
  prints every request's status after the restart;
- locks the child's row from another connection, submits its edit form, prints how long the
  answer took and the message on the page, releases the lock and submits again.

Restarting the cluster cuts off every other session on it: run this where nobody else is using
that PostgreSQL (or give it a cluster of its own: ``pg_createcluster 15 faults -p 5433 --start``,
then ``--database-url postgres://postgres@127.0.0.1:5433/liushou_faults --cluster "15 faults"``).
Before restarting it waits (up to --quiet-wait seconds) until no other client is connected.
The database is dropped at the end unless --keep. --own-cluster does the cluster of its own by
itself: initdb into a temporary directory (as the postgres user when run as root), started on a
free port of 127.0.0.1 with pg_ctl, restarted instead of --cluster, stopped and deleted at the
end; only the name of --database-url is used. --lock-timeout-ms sets the server's
DB_LOCK_TIMEOUT_MS (else its default, 5 s). --quick (for .ci/run): --own-cluster, 4 requests
before and after the restart and a 1 s lock timeout; both faults are judged as always.
"""

import argparse
import contextlib
import functools
import html
import http.cookiejar
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

import _common

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/liushou_faults"
PASSWORD = "Faults-bench-2025"
BUSY = "该记录正由他人保存中，请稍后重试"
DEFAULT_LOCK_TIMEOUT_MS = 5000  # config/settings.py's default of DB_LOCK_TIMEOUT_MS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"PostgreSQL 库（默认 {DEFAULT_URL}）")
    parser.add_argument("--cluster", default="15 main", help="pg_ctlcluster 的版本与集群名（默认 15 main）")
    parser.add_argument("--requests", type=int, default=20, help="重启前后各发多少次请求（默认 20）")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn 工作进程数（默认 2）")
    parser.add_argument("--quiet-wait", type=int, default=120, help="重启前最多等待其他会话结束的秒数")
    parser.add_argument("--keep", action="store_true", help="结束后保留数据库")
    parser.add_argument(
        "--own-cluster",
        action="store_true",
        help="在临时目录新建只供本次运行的 PostgreSQL 集群并重启它（不影响他人）",
    )
    parser.add_argument(
        "--lock-timeout-ms",
        type=int,
        default=DEFAULT_LOCK_TIMEOUT_MS,
        help="服务器的 DB_LOCK_TIMEOUT_MS（默认 5000）",
    )
    return _common.parse_args_quick(parser, own_cluster=True, requests=4, lock_timeout_ms=1000)


# --- setup -----------------------------------------------------------------------------------


def prepare(url):
    """Migrate, load the regions, a county officer and one child. Returns (username, child pk)."""
    _common.django_setup(url)
    from django.core.management import call_command
    from django.test.utils import override_settings
    from stdnum.cn import ric

    from accounts.models import Role, User
    from registry import records
    from registry.choices import (
        GuardianAssessment,
        GuardianRelation,
        GuardianshipType,
        ParentStatus,
        Schooling,
        Sex,
    )
    from registry.models import Child, Region, RegionLevel

    call_command("migrate", verbosity=0)
    call_command("load_regions", "410900", verbosity=0)
    county = Region.objects.get(code="410922000000")
    township = county.children.order_by("code").first()
    village = Region.objects.create(
        code=township.code[:9] + "201", name="故障演练村", level=RegionLevel.VILLAGE, parent=township
    )
    # Hashed as the server will check it (django_setup's fast MD5 hasher is not among its hashers).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        user = User.objects.create_user(
            username="county_faults",
            password=PASSWORD,
            role=Role.COUNTY_OFFICER,
            region=county,
            last_name="演练",
        )
    today = date.today()
    birth = today.replace(year=today.year - 9, day=1)
    body = f"410922{birth:%Y%m%d}123"
    child = records.record_create(
        model=Child,
        user=None,
        data={
            "village": village,
            "name": "演练儿童",
            "sex": Sex.MALE if int(body[-1]) % 2 else Sex.FEMALE,
            "birth_date": birth,
            "id_number": body + ric.calc_check_digit(body + "0"),
            "father_name": "演练父",
            "father_status": ParentStatus.AWAY_WORKING,
            "father_work_place": "广东省东莞市",
            "mother_name": "演练母",
            "mother_status": ParentStatus.AWAY_WORKING,
            "mother_work_place": "浙江省杭州市",
            "guardianship_type": GuardianshipType.GRANDPARENT,
            "guardian_name": "演练祖",
            "guardian_relation": GuardianRelation.GRANDPARENT,
            "guardian_phone": "13900001111",
            "guardian_assessment": GuardianAssessment.GOOD,
            "schooling": Schooling.PRIMARY,
        },
    )
    from django.db import connections

    connections.close_all()
    return user.username, child.pk


def edit_form_data(pk, name):
    """What the child's edit form posts unchanged, with a new name (as tests/factories.form_data)."""
    from django.db import connections

    from registry.forms import ChildForm
    from registry.models import Child, Region

    connections.close_all()  # this script's own connection did not survive the restart
    child = Child.objects.get(pk=pk)
    form = ChildForm(instance=child, user=None)
    data = {}
    for field, value in {**{n: form[n].value() for n in form.fields}, "name": name}.items():
        if value is None:
            data[field] = ""
        elif value is False:
            continue
        elif value is True:
            data[field] = "on"
        elif isinstance(value, date):
            data[field] = value.isoformat()
        elif isinstance(value, Region):
            data[field] = value.pk
        elif isinstance(value, list):
            data[field] = value
        else:
            data[field] = value
    connections.close_all()
    return data


# --- the server and a browser-like client ----------------------------------------------------


def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url, workers, log, lock_timeout_ms):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "DB_LOCK_TIMEOUT_MS": str(lock_timeout_ms),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [str(_common.ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "60"],
        cwd=_common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _common.wait_until_serving(base, log, 100)
        yield base
    finally:
        process.terminate()
        process.wait(10)


class Client:
    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf(self):
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def request(self, path, data=None):
        """(status, body, seconds); a connection error is status 0 with the error as body."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        headers = {"Referer": self.base + path}
        started = time.perf_counter()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, body, headers), timeout=60) as r:
                return r.status, r.read().decode(), time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), time.perf_counter() - started
        except OSError as error:
            return 0, str(error), time.perf_counter() - started

    def sign_in(self, username):
        self.request("/login/")
        status, body, _ = self.request(
            "/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        )
        if status != 200 or 'id="whoami"' not in body:
            errors = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', body, re.S)
            raise SystemExit(f"登录失败（{status}）：{html.unescape(' '.join(errors)).strip()[:300]}")


# --- the two faults --------------------------------------------------------------------------


def rounds(client, n):
    results = []
    for i in range(n):
        path = "/" if i % 2 == 0 else "/children/"
        status, _, seconds = client.request(path)
        results.append((path, status, seconds))
    return results


def summary(results):
    ok = [s for _, status, s in results if status == 200]
    median = f"，中位 {statistics.median(ok) * 1000:.0f} ms" if ok else ""
    return f"{len(ok)}/{len(results)} 次成功{median}"


def other_sessions(url):
    with contextlib.closing(_common._connect(url, maintenance=True)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM %s GROUP BY datname",
            [_common.database_name(url)],
        )
        return dict(cursor.fetchall())


def app_sessions(url):
    """Client sessions on the benchmark's own database (gunicorn's persistent connections)."""
    with contextlib.closing(_common._connect(url, maintenance=True)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = %s",
            [_common.database_name(url)],
        )
        return cursor.fetchone()[0]


def wait_until_quiet(url, seconds):
    deadline = time.monotonic() + seconds
    while sessions := other_sessions(url):
        if time.monotonic() > deadline:
            raise SystemExit(f"其他会话仍连在该 PostgreSQL 上（{sessions}），未重启。请换一个空闲的集群。")
        time.sleep(1)


def cluster_restart(cluster):
    """Restart ``cluster`` ("VERSION NAME") of the machine with Debian's pg_ctlcluster."""
    version, name = cluster.split()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"], check=True)


@contextlib.contextmanager
def own_cluster():
    """A PostgreSQL cluster of this run only: initdb (trust, UTF-8, C.UTF-8) into a temporary
    directory, started with pg_ctl on a free port of 127.0.0.1, its socket in that directory, so
    that restarting it cuts off nobody else. Yields (port, a function that restarts it); stops it
    and deletes the directory at the end. As root, the server's programs run as ``postgres``."""
    bindir = Path(
        subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    )
    directory = Path(tempfile.mkdtemp(prefix="liushou_faults_pg_"))
    run_as = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        shutil.chown(directory, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = directory / "data", free_port()
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-w"]
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run([*pg_ctl, "-o", options, "start"], check=True, stdout=subprocess.DEVNULL)
        yield (
            port,
            lambda: subprocess.run(
                [*pg_ctl, "-o", options, "-m", "fast", "restart"], check=True, stdout=subprocess.DEVNULL
            ),
        )
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        shutil.rmtree(directory, ignore_errors=True)


def restart_postgresql(url, restart):
    started = time.perf_counter()
    restart()
    config = _common.dj_database_url.parse(url)
    for _ in range(60):
        ready = subprocess.run(
            ["pg_isready", "-q", "-h", config["HOST"] or "127.0.0.1", "-p", str(config["PORT"] or 5432)]
        )
        if ready.returncode == 0:
            break
        time.sleep(0.5)
    return time.perf_counter() - started


def held_lock_edit(client, url, pk):
    """Submit the child's edit while another connection holds its row. Returns (seconds, message)."""
    data = edit_form_data(pk, "锁等待时的修改")
    path = f"/children/{pk}/edit/"
    client.request(path)
    data["csrfmiddlewaretoken"] = client.csrf()
    holder = _common._connect(url)
    holder.autocommit = False
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT id FROM registry_child WHERE id = %s FOR UPDATE", [pk])
        status, body, seconds = client.request(path, data)
    finally:
        holder.rollback()
        holder.close()
    errors = re.findall(r'<div class="alert alert-danger" role="alert"><div>(.*?)</div>', body)
    message = html.unescape(errors[0]) if errors else f"（状态 {status}，无错误提示）"
    status_after, body_after, seconds_after = client.request(path, data)
    saved = status_after == 200 and "已保存修改" in body_after
    return seconds, message, saved, seconds_after


def main():
    args = parse_args()
    _common.use_project_root()
    if not args.own_cluster:
        restart = functools.partial(cluster_restart, args.cluster)
        return run(args, args.database_url, restart, f"pg_ctlcluster {args.cluster} restart")
    with own_cluster() as (port, restart):
        url = f"postgres://postgres@127.0.0.1:{port}/{_common.database_name(args.database_url)}"
        print(f"本次运行自建的 PostgreSQL 集群：127.0.0.1:{port}")
        return run(args, url, restart, "自建集群 pg_ctl restart")


def run(args, url, restart, restart_label):
    """Both faults against the database of ``url``; ``restart()`` restarts its server."""
    print(f"数据库 {_common.database_name(url)}：重建、迁移、载入濮阳市区划、1 名县级民政账号和 1 名儿童")
    _common.database_recreate(url)
    username, pk = prepare(url)
    print(_common.server_version())

    with tempfile.NamedTemporaryFile("w+", prefix="faults-gunicorn-", suffix=".log", delete=False) as log:
        with gunicorn(url, args.workers, log, args.lock_timeout_ms) as base:
            client = Client(base)
            client.sign_in(username)

            print(
                f"\n== 1. PostgreSQL 重启（gunicorn {args.workers} 个工作进程，"
                "持久连接 + CONN_HEALTH_CHECKS）"
            )
            before = rounds(client, args.requests)
            from django.db import connections

            connections.close_all()
            print(f"重启前：{summary(before)}；该库上 {app_sessions(url)} 个持久连接（将被重启切断）")
            wait_until_quiet(url, args.quiet_wait)
            took = restart_postgresql(url, restart)
            print(f"{restart_label}：{took:.1f} s 后可连接")
            after = rounds(client, args.requests)
            print(f"重启后：{summary(after)}")
            for i, (path, status, seconds) in enumerate(after[: 2 * args.workers], 1):
                print(f"  第 {i} 次 GET {path}: {status or '连接失败'}（{seconds * 1000:.0f} ms）")
            failed = [r for r in after if r[1] != 200]
            print(
                "结论："
                + ("无需人工干预，重启后的请求全部成功。" if not failed else f"{len(failed)} 次请求失败。")
            )

            print("\n== 2. 行锁：另一连接持有该儿童记录的行锁时提交修改")
            seconds, message, saved, seconds_after = held_lock_edit(client, url, pk)
            print(
                f"{seconds:.1f} s 后返回（锁等待上限 {args.lock_timeout_ms / 1000:g} s），页面提示：{message}"
            )
            print(f"锁释放后再次提交：{'保存成功' if saved else '未保存'}（{seconds_after * 1000:.0f} ms）")
            lock_ok = message == BUSY and seconds < args.lock_timeout_ms / 1000 + 3

        log.seek(0)
        errors = [line for line in log if "Traceback" in line or "Error" in line]
    print(f"\ngunicorn 日志 {log.name}：{len(errors)} 行错误")
    if not args.keep:
        with contextlib.closing(_common._connect(url, maintenance=True)) as conn, conn.cursor() as cursor:
            cursor.execute(
                _common.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    _common.sql.Identifier(_common.database_name(url))
                )
            )
    return 0 if not failed and lock_ok and saved else 1


if __name__ == "__main__":
    sys.exit(main())
