"""Roster import jobs (issue 5): one upload from preview to commit, in the request or in the worker.

A file of up to ``settings.IMPORT_BACKGROUND_ROWS`` rows is previewed, and on confirmation
committed, in the request; a bigger one by the background worker (django-tasks with the
database backend: ``manage.py db_worker``), which writes its progress on the job for the page
to poll. Every write of the registry is the pipeline's (registry.roster.pipeline), in one
transaction together with the job's outcome: a worker killed mid-file leaves no partial rows,
and the job, still 导入中, can be re-run (``import_job_rerun``).

Whether a job is still being worked on: on PostgreSQL the worker holds an advisory lock on the
job while it runs, which the database drops with a dead worker's connection; a worker started by
``run_worker`` carries its host and process id in its worker id, so a dead one is known at once;
otherwise (a bare ``db_worker`` on SQLite) a job silent for ``settings.IMPORT_STALE_SECONDS``
counts as abandoned. ``run_worker`` resumes such jobs itself (``import_jobs_recover``); a job
that no worker picks up within ``settings.IMPORT_PICKUP_SECONDS`` says so on its page.

A job is readable only by its owner and only while the region it was uploaded for is inside the
owner's current import scope (accounts.policy.can_read_import_job); a run for an owner who lost
that scope is refused. Its personal data (file, errors, invalid rows) is deleted when it is
committed or discarded, and after ``settings.IMPORT_RETENTION_HOURS`` without progress in any
state (``import_jobs_purge``, run by ``run_worker`` and by ``manage.py purge_import_jobs``).
"""

import logging
import os
import socket
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

from accounts import policy
from registry.choices import Category
from registry.models import ImportJob
from registry.roster.errors import invalid_rows_workbook
from registry.roster.pipeline import IMPORTERS, ImportScope, Verdict
from registry.roster.reader import RosterFileError, roster_height

logger = logging.getLogger(__name__)

PREVIEW, COMMIT = "preview", "commit"
# Advisory-lock namespace of import jobs (PostgreSQL): pg_try_advisory_lock(LOCK_CLASS, job id).
LOCK_CLASS = 410_905

State = ImportJob.State
REFUSED_INVALID = "有{invalid}行无效，整个文件未导入：请按错误原因修改后重新上传，或勾选“仅导入有效行”。"
REFUSED_BY_SERVICE = "导入时有记录被拒绝（见错误列表），整个文件未导入，台账没有任何改动。"
DISCARDED = "导入人已放弃本次导入，台账没有任何改动。"
CRASHED = "处理过程中出错（{error}），台账没有任何改动；可以点击“重新运行”再试。"
NOT_AWAITING = "该导入当前不能确认（状态：{state}）。"
NOT_STUCK = "该导入仍在处理中或已结束，不能重新运行。"
NOT_DISCARDABLE = "该导入当前不能放弃（状态：{state}）。"
UNSUPPORTED = "暂不支持导入该类别的花名册。"
SCOPE_CHANGED = "导入人的管辖区划已变更，该导入不再属于其管辖范围，未写入台账；原文件和明细已按规定删除。"
EXPIRED = (
    "超过{hours}小时未完成，已自动放弃：原文件和明细已按规定删除，台账没有任何改动。如需导入，请重新上传。"
)
WORKER_DIED = (
    "后台进程在处理过程中意外停止，已自动接续{restarts}次仍未完成，台账没有任何改动。"
    "可以点击“重新运行”再试；如仍失败，请联系系统管理员检查后台进程的日志。"
)

# Why a job is held up (``import_job_hold_up``).
HELD_FAILED, HELD_NO_WORKER, HELD_INTERRUPTED = "failed", "no_worker", "interrupted"
# How often one run retries a step that met a locked database (SQLite), and the first wait.
LOCKED_RETRIES, LOCKED_BACKOFF_SECONDS = 3, 1.0
# A task claimed this recently may not have taken its job's lock yet: not judged dead.
JUST_CLAIMED_SECONDS = 30


def roster_rows(content):
    """How many rows the roster file holds (every sheet, blank rows included).

    Checks the file without reading its rows (registry.roster.reader.check_roster, in a child
    process with a memory limit), so a file that cannot be imported at all (format, macro
    workbook, zip bomb, size, past the row or column limits, mostly blank) raises
    :class:`RosterFileError` here, at once, before anything is stored or queued.
    """
    return roster_height(content)


# --- services -------------------------------------------------------------------------------


def import_job_create(*, user, category, file_name, content, skip_invalid):
    """Start an import of ``content`` by ``user``: preview it now, or queue it for the worker.

    Side effects: a file of at most ``settings.IMPORT_BACKGROUND_ROWS`` rows is previewed in
    this call and the job saved as 待确认 or 已拒绝; a file-level error (RosterFileError, also
    a missing header) then raises and nothing is saved. A bigger file is saved as 排队中 and
    a preview task enqueued. Raises RosterFileError for an unreadable file or a user who may
    not import, ValidationError for a category without an importer.
    """
    if category not in IMPORTERS:
        raise ValidationError(UNSUPPORTED)
    ImportScope.for_user(user)  # refuses a user who may not import
    rows = roster_rows(content)
    background = rows > settings.IMPORT_BACKGROUND_ROWS
    fields = dict(
        owner=user,
        region=user.region,
        category=category,
        file_name=file_name[:255],
        content=content,
        skip_invalid=skip_invalid,
        background=background,
        rows=rows,
        attempt=1,
    )
    if not background:
        with transaction.atomic():
            job = ImportJob.objects.create(state=State.PREVIEWING, **fields)
            _preview(job, progress=None)
        return job
    job = ImportJob.objects.create(state=State.QUEUED, **fields)
    _enqueue(job, PREVIEW)
    return job


def import_job_confirm(*, job):
    """Commit a previewed job (待确认): now for a small file, by the worker for a big one.

    Side effects: the job becomes 导入中; a small file is then committed in this call (see
    ``_commit``: 已完成, or 已拒绝 with nothing written, or 失败 with nothing written); a big
    one gets a commit task enqueued. Raises ValidationError unless the job is 待确认.
    """
    claimed = ImportJob.objects.filter(pk=job.pk, state=State.AWAITING).update(
        state=State.COMMITTING,
        attempt=job.attempt + 1,
        restarts=0,
        progress_done=0,
        progress_total=0,
        updated_at=timezone.now(),
    )
    if not claimed:
        raise ValidationError(NOT_AWAITING.format(state=job.get_state_display()))
    return _run_step(job, COMMIT)


def import_job_rerun(*, job):
    """Run again a job whose run died (预览中/导入中 with no live worker), that no worker picked
    up (排队中 too long), or that failed (失败).

    Side effects: a new attempt of the step that did not finish (preview, or commit if the
    preview had finished): enqueued for a big file, run in this call for a small one. A run
    still alive somewhere notices the new attempt and stops before writing; a task still
    waiting in the queue does nothing when it is picked up. Raises ValidationError when the
    job is not held up.
    """
    if not import_job_is_stuck(job):
        raise ValidationError(NOT_STUCK)
    if not _new_attempt(job, restarts=0):
        raise ValidationError(NOT_STUCK)
    return _run_step(job, _pending_action(job))


def _new_attempt(job, *, restarts):
    """Claim a new attempt of ``job``'s unfinished step (the job as read); False if it moved on."""
    action = _pending_action(job)
    return bool(
        ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
            state=State.COMMITTING if action == COMMIT else State.QUEUED,
            attempt=job.attempt + 1,
            restarts=restarts,
            failure="",
            progress_done=0,
            progress_total=0,
            updated_at=timezone.now(),
        )
    )


def _run_step(job, action):
    """Run ``action`` of ``job``'s new attempt: queued for the worker if the file is big, else
    now; returns the job as it stands after."""
    job.refresh_from_db()
    if job.background:
        _enqueue(job, action)
    else:
        run_import_job_now(job.pk, action, job.attempt)
    job.refresh_from_db()
    return job


def import_job_discard(*, job):
    """Give up a job that waits for a decision (待确认), failed (失败) or is held up (no worker
    picked it up, or its run died).

    Side effects: the job becomes 已拒绝 and its personal data goes: the uploaded file, the
    errors and the invalid rows (``data_deleted_at`` set); the counts stay. A task of it still
    in the queue does nothing when picked up. Raises ValidationError in any other state.
    """
    if job.state not in (State.AWAITING, State.FAILED) and not import_job_is_stuck(job):
        raise ValidationError(NOT_DISCARDABLE.format(state=job.get_state_display()))
    now = timezone.now()
    updated = ImportJob.objects.filter(pk=job.pk, state=job.state, attempt=job.attempt).update(
        state=State.REFUSED, failure=DISCARDED, finished_at=now, updated_at=now, **_personal_data_deleted(now)
    )
    if not updated:
        raise ValidationError(NOT_DISCARDABLE.format(state=job.get_state_display()))
    job.refresh_from_db()
    return job


def _personal_data_deleted(now):
    """The fields that clear a job's personal data, and say when."""
    return {"content": None, "errors": [], "invalid_rows": None, "data_deleted_at": now}


def import_jobs_purge(*, now=None):
    """Delete the personal data of every job untouched for ``settings.IMPORT_RETENTION_HOURS``.

    Side effects: such a job loses its uploaded file, errors and invalid rows
    (``data_deleted_at`` = ``now``); one not finished (排队中, 预览中, 待确认, 导入中, 失败) also
    becomes 已拒绝 with ``EXPIRED`` as its reason, so no late run writes it. Counts stay for the
    history. Returns how many jobs were purged.
    """
    now = now or timezone.now()
    hours = settings.IMPORT_RETENTION_HOURS
    old = ImportJob.objects.with_personal_data().filter(updated_at__lt=now - timedelta(hours=hours))
    with transaction.atomic():
        unfinished = old.exclude(state__in=ImportJob.FINISHED).update(
            state=State.REFUSED,
            failure=EXPIRED.format(hours=hours),
            finished_at=now,
            **_personal_data_deleted(now),
        )
        finished = old.update(**_personal_data_deleted(now))
    return unfinished + finished


def import_job_is_stuck(job):
    """Whether ``job`` may be re-run or given up: see ``import_job_hold_up``."""
    return import_job_hold_up(job) is not None


def import_job_hold_up(job, *, now=None):
    """Why ``job`` is not moving, or None while it moves or waits for its owner.

    ``HELD_FAILED``: it failed. ``HELD_NO_WORKER``: its task has waited in the queue for more
    than ``settings.IMPORT_PICKUP_SECONDS`` (no worker running, or all busy). ``HELD_INTERRUPTED``:
    its run died (预览中/导入中 with nobody on it).
    """
    if job.state == State.FAILED:
        return HELD_FAILED
    if job.state not in ImportJob.RUNNING:
        return None
    now = now or timezone.now()
    if job.background and _task_status(job) == TaskResultStatus.READY:
        waited = now - job.updated_at > timedelta(seconds=settings.IMPORT_PICKUP_SECONDS)
        return HELD_NO_WORKER if waited else None
    return HELD_INTERRUPTED if _run_is_dead(job, now=now) else None


def _run_is_dead(job, *, now):
    """Whether nobody works on ``job`` any more: its worker is known dead, or (PostgreSQL) nobody
    holds its lock, or (SQLite, a worker of unknown origin) it has been silent for too long."""
    alive = _worker_alive(_task_worker(job)) if job.background else None
    if alive is not None:
        return not alive
    if connection.vendor == "postgresql":
        return not _locked_elsewhere(job)
    return now - job.updated_at > timedelta(seconds=settings.IMPORT_STALE_SECONDS)


# --- the worker's housekeeping (run_worker) ---------------------------------------------------


def worker_id_for(pid=None, generation=0):
    """The id ``run_worker`` gives the db_worker it starts: host, supervising process, generation.

    Anyone on the host can then tell whether the worker that claimed a task is still there."""
    return f"{socket.gethostname()[:40]}:{pid or os.getpid()}:{generation}"


def _worker_alive(worker_id):
    """True/False for a worker id made by ``worker_id_for`` on this host; None when unknown."""
    host, _, rest = (worker_id or "").rpartition(":")
    host, _, pid = host.rpartition(":")
    if host != socket.gethostname()[:40] or not pid.isdigit() or not rest.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def import_jobs_recover(*, dead_worker_id=None, now=None):
    """Resume the background jobs whose run died; give up on one whose runs keep dying.

    ``dead_worker_id``: a worker known to have exited (its supervisor saw it go). Otherwise a
    run is dead when ``_run_is_dead`` says so. Side effects: each such job gets a new attempt of
    its unfinished step, enqueued (``restarts`` + 1), and its dead task is marked failed; after
    ``settings.IMPORT_AUTO_RESTARTS`` restarts the job becomes 失败 with ``WORKER_DIED`` instead
    (its file kept for a manual 重新运行). Returns the jobs resumed and failed, as two lists of ids.
    """
    now = now or timezone.now()
    resumed, failed = [], []
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    tasks_by_id = {str(task.id): task for task in running}
    jobs = ImportJob.objects.without_content().filter(
        background=True, state__in=(State.PREVIEWING, State.COMMITTING, State.QUEUED),
        task_id__in=list(tasks_by_id),
    )  # fmt: skip
    for job in jobs:
        task = tasks_by_id[job.task_id]
        worker = task.worker_ids[-1] if task.worker_ids else ""
        if worker != dead_worker_id:
            alive = _worker_alive(worker)
            if alive is None:  # a worker of unknown origin: judged by the job, once it had time to lock
                claimed = task.started_at or now
                just_claimed = now - claimed < timedelta(seconds=JUST_CLAIMED_SECONDS)
                alive = just_claimed or not _run_is_dead(job, now=now)
            if alive:
                continue
        task.set_failed(RuntimeError(f"worker {worker} died"))
        if job.restarts >= settings.IMPORT_AUTO_RESTARTS:
            ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
                state=State.FAILED,
                failure=WORKER_DIED.format(restarts=job.restarts),
                updated_at=timezone.now(),
            )
            failed.append(job.pk)
        elif _new_attempt(job, restarts=job.restarts + 1):
            job.refresh_from_db()
            _enqueue(job, _pending_action(job))
            resumed.append(job.pk)
    return resumed, failed


# --- the run --------------------------------------------------------------------------------


@task()
def run_import_job(job_id, action, attempt):
    """The worker's entry point: preview or commit attempt ``attempt`` of job ``job_id``."""
    return run_import_job_now(job_id, action, attempt)


def run_import_job_now(job_id, action, attempt):
    """Run one step of a job unless another run holds it or a newer attempt replaced this one.

    Returns the job's state afterwards ("skipped" when it did nothing).
    """
    with _job_lock(job_id) as locked:
        if not locked:
            return "skipped"
        expected = (State.QUEUED, State.PREVIEWING) if action == PREVIEW else (State.COMMITTING,)
        job = ImportJob.objects.filter(pk=job_id, attempt=attempt, state__in=expected).first()
        if job is None:
            return "skipped"
        progress = _ProgressWriter(job) if job.background else None
        try:
            if not policy.can_read_import_job(job.owner, job):
                _refuse(job, SCOPE_CHANGED, personal_data=True)
            else:
                _run_retrying_locks(job, action, progress)
        except RosterFileError as exc:
            _refuse(job, str(exc))
        except _Superseded:
            return "skipped"
        except Exception as exc:
            logger.exception("roster import job %s failed (%s, attempt %s)", job_id, action, attempt)
            ImportJob.objects.filter(pk=job.pk).update(
                state=State.FAILED,
                failure=CRASHED.format(error=type(exc).__name__),
                updated_at=timezone.now(),
            )
        finally:
            if progress is not None:
                progress.close()
        return ImportJob.objects.values_list("state", flat=True).get(pk=job_id)


class _Superseded(Exception):
    """The job moved on while this run worked (discarded, purged, or a newer attempt)."""


def _run_retrying_locks(job, action, progress):
    """Run the step; a locked database (SQLite: another writer held it past the busy timeout)
    is retried, with a doubling wait, before the run counts as failed. Each try is a whole
    transaction, so a retry starts clean."""
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            if action == PREVIEW:
                ImportJob.objects.filter(pk=job.pk).update(state=State.PREVIEWING, updated_at=timezone.now())
                _preview(job, progress=progress)
            else:
                _commit(job, progress=progress)
            return
        except OperationalError as exc:
            if attempt == LOCKED_RETRIES or not is_locked_database_exception(exc):
                raise
            logger.warning("roster import job %s: database locked, retrying (%s)", job.pk, attempt + 1)
            time.sleep(LOCKED_BACKOFF_SECONDS * 2**attempt)


def _scope(job):
    """Where the run may write: the region the job was uploaded for (its owner still holds it:
    run_import_job_now checked)."""
    return ImportScope(user=job.owner, prefixes=(job.region.prefix,))


def _still_current(job, state):
    """Refuse to record an outcome when the job is no longer this run's (inside the run's
    transaction for a commit: its rows are rolled back with it)."""
    if not ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=state).exists():
        raise _Superseded


def _preview(job, *, progress):
    """Judge every row; save the counts, the errors and the invalid rows (待确认 or 已拒绝)."""
    importer = IMPORTERS[job.category]
    result = importer(bytes(job.content), scope=_scope(job), progress=progress)
    _still_current(job, State.PREVIEWING)
    _record(job, result)
    if result.count(Verdict.INVALID) and not job.skip_invalid:
        job.state = State.REFUSED
        job.failure = REFUSED_INVALID.format(invalid=result.count(Verdict.INVALID))
        _finish(job)
    else:
        job.state = State.AWAITING
    job.save()


def _commit(job, *, progress):
    """Write the file in one transaction together with the job's outcome.

    The pipeline judges every row again inside the transaction (the registry may have changed
    since the preview). Committed: 已完成, and the file, errors and invalid rows are deleted.
    Refused (invalid rows without 仅导入有效行, or a service refusal): 已拒绝, nothing written,
    the file deleted, the errors and invalid rows kept for the officer to correct (until the
    retention purge).
    """
    importer = IMPORTERS[job.category]
    with transaction.atomic():
        result = importer(
            bytes(job.content),
            scope=_scope(job),
            commit=True,
            skip_invalid=job.skip_invalid,
            progress=progress,
        )
        _still_current(job, State.COMMITTING)
        _record(job, result)
        if result.committed:
            job.state = State.DONE
        else:
            job.state = State.REFUSED
            invalid = result.count(Verdict.INVALID)
            job.failure = (
                REFUSED_INVALID.format(invalid=invalid)
                if invalid and not job.skip_invalid
                else REFUSED_BY_SERVICE
            )
        _finish(job)
        job.save()


def _refuse(job, message, *, personal_data=False):
    """The run refuses the job; ``personal_data``: its errors and invalid rows go too."""
    now = timezone.now()
    deleted = _personal_data_deleted(now) if personal_data else {"content": None}
    ImportJob.objects.filter(pk=job.pk).update(
        state=State.REFUSED, failure=message, finished_at=now, updated_at=now, **deleted
    )


def _record(job, result):
    summary = result.summary()
    job.errors = summary.pop("errors")
    job.summary = summary
    # The children's note 新登记的儿童记为“待评估” only for a roster without that column.
    job.assessment_missing = job.category == Category.CHILD and "监护评估" not in dict(result.columns)
    job.invalid_rows = invalid_rows_workbook(result) if result.count(Verdict.INVALID) else None
    tracker = getattr(result, "tracker", None)  # the pipeline's own count of the steps
    job.progress_total = tracker.total if tracker is not None else len(result.rows)
    job.progress_done = job.progress_total
    job.updated_at = timezone.now()


def _finish(job):
    """A finished job keeps its counts; the uploaded file goes, and once committed the errors
    and invalid rows too (a refused job keeps them for the officer until the retention purge)."""
    job.content = None
    job.finished_at = timezone.now()
    if job.state == State.DONE:
        job.errors, job.invalid_rows, job.data_deleted_at = [], None, job.finished_at


def _pending_action(job):
    if job.state == State.COMMITTING:
        return COMMIT
    if job.state == State.FAILED and job.summary:
        return COMMIT  # the preview had finished: the commit failed
    return PREVIEW


def _enqueue(job, action):
    result = run_import_job.enqueue(job.pk, action, job.attempt)
    ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)


def _task_status(job):
    if not job.task_id:
        return None
    try:
        return run_import_job.get_backend().get_result(job.task_id).status
    except TaskResultDoesNotExist:
        return None


def _task_worker(job):
    """The id of the worker that last claimed ``job``'s task ('' if none did)."""
    ids = DBTaskResult.objects.filter(id=job.task_id).values_list("worker_ids", flat=True).first()
    return ids[-1] if ids else ""


@contextmanager
def _job_lock(job_id):
    """Hold the job's advisory lock for this run (PostgreSQL); elsewhere always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = [LOCK_CLASS, job_id % 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _locked_elsewhere(job):
    """Whether another database session (a live run) holds the job's advisory lock."""
    key = [LOCK_CLASS, job.pk % 2**31]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 2 AND pid <> pg_backend_pid())",
            key,
        )
        return cursor.fetchone()[0]


class _ProgressWriter:
    """``progress(done, total)`` for the pipeline: writes the job's progress where the page sees it.

    The commit runs inside one transaction, so its progress goes through a second database
    connection that commits each update at once (PostgreSQL). SQLite allows one writer at a
    time: inside the commit's transaction the bar waits for the end.
    """

    def __init__(self, job):
        self.job_id = job.pk
        self.side = None

    def __call__(self, done, total):
        total = max(int(total), 0)
        done = min(max(int(done), 0), total)
        now = timezone.now()
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id).update(
                progress_done=done, progress_total=total, updated_at=now
            )
        elif connection.vendor == "postgresql":
            if self.side is None:
                self.side = connections.create_connection("default")
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET progress_done = %s, progress_total = %s,"
                    " updated_at = %s WHERE id = %s",
                    [done, total, now, self.job_id],
                )

    def close(self):
        if self.side is not None:
            self.side.close()
            self.side = None
