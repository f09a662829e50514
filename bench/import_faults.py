"""Killing the import worker mid-file (issue 5): no partial rows, and the job can be re-run.

    .venv/bin/python bench/import_faults.py [--rows N] [--kill-at F] [--database-url URL] [--dir D] [--keep]
                                            [--quick]

On PostgreSQL (default database liushou_bench_faults on the local server, dropped and recreated;
with --keep an existing one holding the regions is reused, its registry emptied), with the
regions of 410900 and the demo villages, a city-office account and an xlsx roster of N valid
children (default 20,000; the file is shared with bench/roster_import.py and kept in --dir):

1. starts a real worker (``manage.py db_worker``) as a subprocess;
2. uploads the roster as the officer does (registry.roster.tasks.import_job_create): more rows than
   IMPORT_BACKGROUND_ROWS, so the worker previews it, with progress written on the job;
3. confirms it, waits until the commit is F (default 0.5) into its writing, and SIGKILLs the
   worker in the middle of the commit's transaction (printing the pages the uncommitted rows
   already take);
4. checks that no child, history or ID-claim row was written, that the job is still 导入中
   and that the page would offer 重新运行 once the database has dropped the dead session;
5. re-runs it (registry.roster.tasks.import_job_rerun) with a new worker and checks that every row is
   there exactly once; then imports the same file again and checks that nothing changes.

It prints what it saw at each step and ends with PASS or FAIL (exit code 0 or 1).
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from _common import stopwatch

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liushou_bench_faults"
DEFAULT_DIR = Path(tempfile.gettempdir()) / "liushou_bench_roster"
ROWS = 20_000
KILL_AT = 0.5
PASSWORD = "bench-Only-2025"
POLL_SECONDS = 0.05
REPORT_SECONDS = 2.0
TIMEOUT_SECONDS = 1800
CHILD_TABLES = ("registry_child", "registry_historicalchild", "registry_identityclaim")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="花名册行数（默认 20,000）")
    parser.add_argument(
        "--kill-at", type=float, default=KILL_AT, help="写入到这一比例时杀掉后台进程（默认 0.5）"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="花名册文件目录（与 roster_import.py 共用）"
    )
    parser.add_argument("--keep", action="store_true", help="沿用已有区划的数据库，不删库重建")
    # --quick: a file just past the background threshold, killed early in its writing.
    args = _common.parse_args_quick(parser, rows=8_000, kill_at=0.2)
    if not 0 < args.kill_at < 1:
        parser.error("--kill-at 应在 0 与 1 之间")
    return args


class WorkerProcess:
    """``manage.py db_worker`` in a subprocess, its output appended to ``log``."""

    def __init__(self, log, name):
        self.log, self.name = log, name
        with open(log, "a") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--no-reload",
                    "--no-startup-delay",
                    "--interval",
                    "0.2",
                    "--worker-id",
                    name,
                ],  # fmt: skip
                cwd=_common.ROOT,
                env=os.environ.copy(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        print(f"启动后台进程 {name}（pid {self.process.pid}），输出见 {log}", flush=True)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        if self.process.poll() is None:
            self.kill()


def counts():
    from django.db import connection

    with connection.cursor() as cursor:
        result = {}
        for table in CHILD_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        return result


def child_table_bytes():
    """The size of registry_child on disk: rows written by an open transaction take pages too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size('registry_child')")
        return cursor.fetchone()[0]


def wait_for(job, states, label):
    """Poll ``job`` until its state is one of ``states``, printing its progress now and then."""
    start = last = time.monotonic()
    while True:
        job.refresh_from_db()
        now = time.monotonic()
        if job.state in states:
            print(f"  {label}：{now - start:.1f} 秒后 {job.get_state_display()}", flush=True)
            return now - start
        if now - last >= REPORT_SECONDS:
            progress = f"{job.progress_done:,}/{job.progress_total:,}"
            print(f"  {now - start:5.1f} 秒 {job.get_state_display()} 进度 {progress}", flush=True)
            last = now
        if now - start > TIMEOUT_SECONDS:
            raise SystemExit(f"{label}超时（{TIMEOUT_SECONDS} 秒），状态 {job.get_state_display()}")
        time.sleep(POLL_SECONDS)


def officer():
    from accounts.models import Role, User
    from registry.models import Region

    user, _ = User.objects.get_or_create(
        username="bench_city",
        defaults={"role": Role.CITY_OFFICE, "region": Region.objects.get(code="410900000000")},
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def _terminate(signum, frame):
    raise SystemExit(f"收到信号 {signal.strsignal(signum)}，停止")  # so that the workers are stopped too


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    url = args.database_url
    roster_import = _common.bench_module("roster_import")
    reuse = args.keep and roster_import.regions_loaded(url)
    if not reuse:
        _common.database_recreate(url)
    _common.use_project_root()
    _common.django_setup(url)

    from django.conf import settings
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from registry.models import ImportJob
    from registry.records import reference_date
    from registry.roster import tasks

    state = ImportJob.State
    print(f"数据库 {_common.database_name(url)}：{_common.server_version()}")
    with stopwatch("迁移与区划（含演示村）"):
        call_command("migrate", verbosity=0)
        if not reuse:
            roster_import.regions_load()
    roster_import.registry_empty()
    ImportJob.objects.all().delete()
    DBTaskResult.objects.all().delete()
    user = officer()
    path = roster_import.roster_file(args.dir, args.rows, roster_import.villages(), reference_date(), True)
    content = path.read_bytes()
    log = Path(tempfile.gettempdir()) / "liushou_bench_faults_worker.log"
    log.write_text("")
    checks = []

    def check(label, ok):
        checks.append(ok)
        print(f"  {'✓' if ok else '✗'} {label}", flush=True)

    worker = WorkerProcess(log, "bench-worker-1")
    try:
        print(f"\n1. 上传 {path.name}（{args.rows:,} 行，后台阈值 {settings.IMPORT_BACKGROUND_ROWS:,} 行）")
        job = tasks.import_job_create(
            user=user, category="child", file_name=path.name, content=content, skip_invalid=False
        )
        check(f"进入后台：{job.get_state_display()}，文件 {job.rows:,} 行", job.background)
        preview_seconds = wait_for(job, (state.AWAITING, state.REFUSED, state.FAILED), "预览")
        check(f"预览：{job.summary}", job.state == state.AWAITING and job.summary["created"] == args.rows)

        print(f"\n2. 确认导入；写入 {args.kill_at:.0%} 时 SIGKILL 后台进程")
        # The commit runs in a worker started afresh (as after a deploy or a restart): it keeps no
        # preview of this file, so it judges every row again before it writes, as the bar shows.
        worker.stop()
        worker = WorkerProcess(log, "bench-worker-1b")
        tasks.import_job_confirm(job=job)
        # The commit judges and writes chunk after chunk in one transaction, the bar counting the
        # rows done of those to do: kill once F of them are done.
        start, seen = time.monotonic(), []
        while True:
            job.refresh_from_db()
            if job.progress_done not in seen:
                seen.append(job.progress_done)
            if job.state != state.COMMITTING:
                raise SystemExit(f"导入在杀掉后台进程前已结束：{job.get_state_display()}")
            if job.progress_total and job.progress_done >= args.kill_at * job.progress_total:
                break
            time.sleep(POLL_SECONDS)
        during, pages = counts(), child_table_bytes()
        code = worker.kill()
        killed_at = (job.progress_done, job.progress_total, time.monotonic() - start)
        where = f"{killed_at[0]:,}/{killed_at[1]:,}"
        print(f"  SIGKILL（退出码 {code}）于进度 {where}，确认后 {killed_at[2]:.1f} 秒")
        steps = ", ".join(f"{n:,}" for n in seen[:12]) + (" …" if len(seen) > 12 else "")
        print(f"  页面看到的进度（依次）：{steps}")
        print(f"  杀掉前其他会话看到的行数：{during}")
        print(f"  杀掉前 registry_child 已占 {pages / 2**20:.1f} MB（未提交的写入，别的会话看不到）")
        after = counts()
        print(f"  杀掉后：{after}")
        check("没有写入任何儿童、历史或身份证号记录", set(after.values()) == {0})
        job.refresh_from_db()
        check(
            f"任务仍为 {job.get_state_display()}，上传的文件仍在",
            job.state == state.COMMITTING and job.content,
        )
        start = time.monotonic()
        while not tasks.import_job_is_stuck(job) and time.monotonic() - start < 30:
            time.sleep(POLL_SECONDS)
        check(f"{time.monotonic() - start:.2f} 秒后页面提供“重新运行”", tasks.import_job_is_stuck(job))

        print("\n3. 重新运行（新的后台进程）")
        worker = WorkerProcess(log, "bench-worker-2")
        tasks.import_job_rerun(job=job)
        commit_seconds = wait_for(job, (state.DONE, state.REFUSED, state.FAILED), "重新运行的导入")
        final = counts()
        print(f"  {final}")
        check(
            f"已完成：新增 {job.summary.get('created', 0):,}，台账 {final['registry_child']:,} 人",
            job.state == state.DONE and final["registry_child"] == args.rows == job.summary["created"],
        )
        check(
            "每人一条历史、一条身份证号记录",
            final["registry_historicalchild"] == final["registry_identityclaim"] == args.rows,
        )
        check("完成后上传的文件已删除", job.content is None)

        print("\n4. 同一文件再导入一次")
        again = tasks.import_job_create(
            user=user, category="child", file_name=path.name, content=content, skip_invalid=False
        )
        wait_for(again, (state.AWAITING, state.REFUSED, state.FAILED), "预览")
        tasks.import_job_confirm(job=again)
        wait_for(again, (state.DONE, state.REFUSED, state.FAILED), "导入")
        check(f"无变化：{again.summary}", again.summary["unchanged"] == args.rows and counts() == final)
    finally:
        worker.stop()

    rate = args.rows / commit_seconds if commit_seconds else 0
    print(f"\n{args.rows:,} 行：后台预览 {preview_seconds:.1f} 秒；", end="")
    print(f"重新运行（复核 + 写入）{commit_seconds:.1f} 秒（{rate:,.0f} 行/秒）")
    passed = all(checks)
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
