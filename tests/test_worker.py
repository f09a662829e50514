"""The background worker (issue 14 §1): it survives a locked database and a kill, resumes the
jobs it held, and a job nobody picks up says so on its page with 重试 / 放弃 that work.

The first tests run the queue in this process (tests/test_roster_upload.run_worker); the last
ones start the real ``manage.py run_worker`` (which runs ``manage.py db_worker``) against a
file SQLite database in tmp_path, kill it or lock the database under it, and wait, bounded,
for the job to finish.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from registry.models import Child, ImportJob
from registry.roster import tasks
from tests.test_roster_upload import (
    _worker_keeps_the_test_connection,  # noqa: F401 - autouse here too
    job_of,
    roster,
    run_worker,
    upload,
)

State = ImportJob.State
NO_WORKER = "后台进程未运行或已停止："


@pytest.fixture
def county(client, cast, settings):
    settings.IMPORT_BACKGROUND_ROWS = 3
    client.force_login(cast["county"])
    return client


def _waited(job, seconds):
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _claimed_by(job, worker_id, state=State.PREVIEWING):
    """What a worker leaves when it dies mid-run: the task claimed by it, the job still running."""
    DBTaskResult.objects.get(id=job.task_id).claim(worker_id)
    ImportJob.objects.filter(pk=job.pk).update(state=state)
    job.refresh_from_db()


# --- a job nobody picks up -------------------------------------------------------------------------


def test_queued_job_says_within_a_minute_that_no_worker_runs(county):
    job = job_of(upload(county, roster(5)[0]))
    fresh = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    assert (fresh.context["hold_up"], fresh.context["polling"]) == (None, True)
    assert NO_WORKER not in fresh.content.decode()

    _waited(job, 61)

    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    body = page.content.decode()
    assert (page.context["hold_up"], page.context["polling"]) == (tasks.HELD_NO_WORKER, False)
    assert NO_WORKER in body and "make run 会自动启动" in body
    assert ">重试</button>" in body and ">放弃</button>" in body
    progress = county.get(reverse("import_job_progress", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_queued_job_retry_requeues_it_and_the_old_task_does_nothing(county):
    content, ids = roster(5)
    job = job_of(upload(county, content))
    old_task = job.task_id
    _waited(job, 61)

    county.post(reverse("import_job_rerun", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (job.state, job.attempt, job.task_id != old_task) == (State.QUEUED, 2, True)
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.summary["created"]) == (State.AWAITING, 5)
    assert DBTaskResult.objects.get(id=old_task).return_value == "skipped"


def test_queued_job_discard_ends_it_and_its_task_does_nothing(county):
    job = job_of(upload(county, roster(5)[0]))
    _waited(job, 61)

    county.post(reverse("import_job_discard", kwargs={"pk": job.pk}))
    run_worker()

    job.refresh_from_db()
    assert (job.state, job.failure, job.content) == (State.REFUSED, tasks.DISCARDED, None)
    assert Child.objects.count() == 0
    assert DBTaskResult.objects.get(id=job.task_id).return_value == "skipped"


def test_queued_job_younger_than_a_minute_cannot_be_discarded(county):
    job = job_of(upload(county, roster(5)[0]))

    response = county.post(reverse("import_job_discard", kwargs={"pk": job.pk}), follow=True)

    job.refresh_from_db()
    assert job.state == State.QUEUED
    assert [str(m) for m in response.context["messages"]] == [tasks.NOT_DISCARDABLE.format(state="排队中")]


# --- a worker that died: resumed, or failed cleanly ------------------------------------------------


def test_recover_resumes_a_job_whose_worker_died(county):
    content, ids = roster(5)
    job = job_of(upload(county, content))
    dead_task = job.task_id
    _claimed_by(job, tasks.worker_id_for(pid=_dead_pid(), generation=1))
    assert tasks.import_job_hold_up(job) == tasks.HELD_INTERRUPTED

    assert tasks.import_jobs_recover() == ([job.pk], [])

    job.refresh_from_db()
    assert (job.state, job.attempt, job.restarts) == (State.QUEUED, 2, 1)
    assert DBTaskResult.objects.get(id=dead_task).status == "FAILED"
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.summary["created"]) == (State.AWAITING, 5)


def test_recover_leaves_a_job_whose_worker_is_alive(county):
    job = job_of(upload(county, roster(5)[0]))
    _claimed_by(job, tasks.worker_id_for(pid=os.getpid(), generation=1))

    assert tasks.import_jobs_recover() == ([], [])

    job.refresh_from_db()
    assert (job.state, job.attempt, tasks.import_job_hold_up(job)) == (State.PREVIEWING, 1, None)


def test_recover_fails_a_job_whose_runs_keep_dying_with_a_message(county, settings):
    job = job_of(upload(county, roster(5)[0]))
    ImportJob.objects.filter(pk=job.pk).update(restarts=settings.IMPORT_AUTO_RESTARTS)
    _claimed_by(job, "vm-that-died:1:1")

    assert tasks.import_jobs_recover(dead_worker_id="vm-that-died:1:1") == ([], [job.pk])

    job.refresh_from_db()
    assert (job.state, job.failure) == (State.FAILED, tasks.WORKER_DIED.format(restarts=2))
    body = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "后台进程在处理过程中意外停止，已自动接续2次仍未完成" in body
    assert ">重新运行</button>" in body and ">放弃</button>" in body


# --- the real worker process -------------------------------------------------------------------------

ROWS = 10_000
SETUP = """
from accounts.models import Role
from registry.roster import tasks
from tests.factories import UserFactory, region_tree
from tests.test_roster_upload import roster

tree = region_tree()
user = UserFactory(username="county", role=Role.COUNTY_OFFICER, region=tree["410922"])
content, _ = roster({rows})
tasks.import_job_create(user=user, category="child", file_name="big.csv", content=content, skip_invalid=True)
"""


def _env(path, **extra):
    return dict(
        os.environ, DEBUG="1", DATABASE_URL=f"sqlite:///{path}", IMPORT_BACKGROUND_ROWS="100", **extra
    )


def _manage(path, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=django_settings.BASE_DIR, env=_env(path), check=True,
        timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    path = tmp_path_factory.mktemp("worker") / "migrated.sqlite3"
    _manage(path, "migrate", "-v0")
    return path


@pytest.fixture
def queued(migrated, tmp_path):
    """A file database with a queued background job of ROWS rows (and nobody working on it)."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(migrated) as source, sqlite3.connect(path) as target:
        source.backup(target)
    _manage(path, "shell", "-c", SETUP.format(rows=ROWS))
    return path


def _job(db):
    columns = "state, progress_done, attempt, restarts, summary"
    return db.execute(f"SELECT {columns} FROM registry_importjob").fetchone()


def _wait_for(db, condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = _job(db)
        if condition(row):
            return row
        time.sleep(0.2)
    raise AssertionError(f"still {row[:4]} after {seconds} s")


def _start_worker(path, **env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--max-backoff", "1"],
        cwd=django_settings.BASE_DIR, env=_env(path, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def _stop(worker):
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    print(output)  # shown by pytest when the test fails
    return worker.returncode, output


def _children(pid):
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads a process's children from /proc")
def test_worker_killed_mid_job_is_restarted_and_the_job_resumes(queued):
    db = sqlite3.connect(queued)
    worker = _start_worker(queued)
    try:
        _wait_for(db, lambda row: row[0] == "previewing" and 0 < row[1] < ROWS, 90)
        (db_worker,) = _children(worker.pid)
        os.kill(db_worker, signal.SIGKILL)

        state, done, attempt, restarts, summary = _wait_for(db, lambda row: row[0] != "previewing", 30)
        assert (state, attempt, restarts) == ("queued", 2, 1)  # resumed: a new attempt, queued
        state, *_ = _wait_for(db, lambda row: row[0] not in ("queued", "previewing"), 120)

        assert worker.poll() is None  # the supervisor itself never stopped
        assert _children(worker.pid) != [db_worker]
    finally:
        code, output = _stop(worker)
    assert state == "awaiting", output
    assert f'"rows": {ROWS}' in _job(db)[4]
    assert code == 0
    assert "后台进程 db_worker 已退出（返回码 -9），1 秒后重新启动。" in output
    assert "后台进程已停止。" in output


def test_worker_survives_a_database_locked_past_its_timeout(queued):
    lock = sqlite3.connect(queued, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holding the file, longer than the busy timeout
    worker = _start_worker(queued, DB_SQLITE_TIMEOUT="1")
    try:
        time.sleep(6)
        assert worker.poll() is None
        lock.execute("COMMIT")
        db = sqlite3.connect(queued)
        state, *_ = _wait_for(db, lambda row: row[0] not in ("queued", "previewing"), 120)
        assert worker.poll() is None
    finally:
        code, output = _stop(worker)
    assert (state, code) == ("awaiting", 0), output
    assert "database is locked" in output
