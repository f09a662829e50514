"""``manage.py run_worker``: the background worker (django-tasks' ``db_worker``), kept alive.

``db_worker`` runs as a child process. When it exits for any reason (a database locked past the
busy timeout, a kill, running out of memory) this process resumes the imports it held
(registry.roster.tasks.import_jobs_recover) and starts a new one, after a wait that doubles from 1 s up
to ``--max-backoff`` (and starts again from 1 s once a worker has lived five minutes). Between
starts it also resumes jobs of workers that died elsewhere (every minute) and purges the personal
data of import jobs past their retention and runs settings.WORKER_HOURLY (every hour). SIGTERM or
Ctrl-C stop the child, then it.
"""

import logging
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections
from django.utils.module_loading import import_string

from registry.roster import tasks

logger = logging.getLogger(__name__)

RECOVER_EVERY, PURGE_EVERY = 60, 3600
HEALTHY_AFTER = 300  # seconds a worker must live for the backoff to start again from 1 s
STOP_GRACE = 10  # seconds a stopping worker gets to finish its task before it is killed


class Command(BaseCommand):
    help = (
        "后台进程：运行 db_worker 处理花名册导入等后台任务，并看护它——它退出（数据库被锁、被结束、"
        "内存不足）后接续它中断的导入并按 1、2、4……秒退避重启；每分钟接续其他已停止的后台进程留下的导入，"
        "每小时删除超过保留期限的导入明细。make run 会自动运行它；正式部署时作为一个常驻服务运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="队列为空时多久查看一次（秒）")
        parser.add_argument("--max-backoff", type=float, default=60.0, help="重启前最长等待（秒），默认 60")

    def handle(self, *args, interval, max_backoff, **options):
        self.stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        self.next_recover = self.next_purge = 0.0
        backoff, generation = 1.0, 0
        while not self.stop.is_set():
            generation += 1
            worker_id = tasks.worker_id_for(generation=generation)
            started = time.monotonic()
            code = self._run_child(worker_id, interval)
            if self.stop.is_set():
                break
            if time.monotonic() - started > HEALTHY_AFTER:
                backoff = 1.0
            self.stderr.write(f"后台进程 db_worker 已退出（返回码 {code}），{backoff:g} 秒后重新启动。")
            self._housekeeping(dead_worker_id=worker_id)
            self.stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
        self.stdout.write("后台进程已停止。")

    def _run_child(self, worker_id, interval):
        """Start one db_worker and look after the queue's housekeeping until it exits."""
        self._housekeeping()
        command = [
            sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--no-reload",
            "--no-startup-delay", "--interval", f"{interval:g}", "--worker-id", worker_id,
        ]  # fmt: skip
        child = subprocess.Popen(command)
        self.stdout.write(f"后台进程 db_worker 已启动（进程 {child.pid}，{worker_id}）。")
        while child.poll() is None:
            if self.stop.wait(1.0):
                child.terminate()
                try:
                    child.wait(STOP_GRACE)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                break
            self._housekeeping()
        return child.returncode

    def _housekeeping(self, *, dead_worker_id=None):
        """Resume interrupted imports (always for a worker just seen to die, else once a minute)
        and purge expired import data (hourly). A database error is logged, not fatal."""
        now = time.monotonic()
        try:
            if dead_worker_id or now >= self.next_recover:
                self.next_recover = now + RECOVER_EVERY
                resumed, failed = tasks.import_jobs_recover(dead_worker_id=dead_worker_id)
                if resumed or failed:
                    self.stdout.write(f"接续中断的导入：{resumed}；多次中断、已标为失败：{failed}。")
            if now >= self.next_purge:
                self.next_purge = now + PURGE_EVERY
                purged = tasks.import_jobs_purge()
                if purged:
                    self.stdout.write(f"已删除 {purged} 个过期导入的原文件和明细。")
                # The other apps' hourly work (settings.WORKER_HOURLY: the care loop's escalation),
                # named by path so that the registry imports no app above it.
                for path in settings.WORKER_HOURLY:
                    done = import_string(path)()
                    if done:
                        self.stdout.write(f"{path}：{done}")
        except DatabaseError as exc:
            logger.warning("run_worker housekeeping failed: %s", exc)
            self.stderr.write(f"数据库暂不可用（{exc}），稍后再试。")
        finally:
            close_old_connections()
            for connection in connections.all(initialized_only=True):
                connection.close()  # hold no connection (nor a read snapshot) while waiting
