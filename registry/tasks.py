"""Roster import jobs (issue 5): one upload from preview to commit, in the request or in the worker.

A file of up to ``settings.IMPORT_BACKGROUND_ROWS`` rows is previewed, and on confirmation
committed, in the request; a bigger one by the background worker (django-tasks with the
database backend: ``manage.py db_worker``), which writes its progress on the job for the page
to poll. Every write of the registry is the pipeline's (registry.roster.pipeline), in one
transaction together with the job's outcome: a worker killed mid-file leaves no partial rows,
and the job, still 导入中, can be re-run (``import_job_rerun``).

Whether a job is still being worked on: on PostgreSQL the worker holds an advisory lock on the
job while it runs, which the database drops with a dead worker's connection; on SQLite (the
laptop) a job silent for ``settings.IMPORT_STALE_SECONDS`` counts as abandoned.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist

from registry.models import ImportJob
from registry.roster.errors import invalid_rows_workbook
from registry.roster.pipeline import IMPORTERS, ImportScope, Verdict
from registry.roster.reader import RosterFileError, read_roster

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


def roster_rows(content):
    """How many rows the roster file holds (every sheet, blank rows included).

    Reads the file, so a file that cannot be imported at all (format, macro workbook, zip
    bomb, size) raises :class:`RosterFileError` here, before anything is stored.
    """
    return sum(sheet.height for sheet in read_roster(content))


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
        progress_done=0,
        progress_total=0,
        updated_at=timezone.now(),
    )
    if not claimed:
        raise ValidationError(NOT_AWAITING.format(state=job.get_state_display()))
    return _run_step(job, COMMIT)


def import_job_rerun(*, job):
    """Run again a job whose run died (预览中/导入中 with no live worker) or failed (失败).

    Side effects: a new attempt of the step that did not finish (preview, or commit if the
    preview had finished): enqueued for a big file, run in this call for a small one. A run
    still alive somewhere notices the new attempt and stops before writing. Raises
    ValidationError when the job is not stuck.
    """
    if not import_job_is_stuck(job):
        raise ValidationError(NOT_STUCK)
    action = _pending_action(job)
    state = State.COMMITTING if action == COMMIT else State.QUEUED
    updated = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
        state=state,
        attempt=job.attempt + 1,
        failure="",
        progress_done=0,
        progress_total=0,
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(NOT_STUCK)
    return _run_step(job, action)


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
    """Give up a job that waits for a decision (待确认) or failed (失败).

    Side effects: the job becomes 已拒绝 and its uploaded file is dropped. Raises
    ValidationError in any other state.
    """
    if job.state not in (State.AWAITING, State.FAILED):
        raise ValidationError(NOT_DISCARDABLE.format(state=job.get_state_display()))
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk, state=job.state).update(
        state=State.REFUSED, failure=DISCARDED, content=None, finished_at=now, updated_at=now
    )
    job.refresh_from_db()
    return job


def import_job_is_stuck(job):
    """Whether ``job`` may be re-run: it failed, or its run died (预览中/导入中, nobody on it)."""
    if job.state == State.FAILED:
        return True
    if job.state not in (State.PREVIEWING, State.COMMITTING, State.QUEUED):
        return False
    if job.background and _task_status(job) == TaskResultStatus.READY:
        return False  # still waiting in the queue for a worker
    if connection.vendor == "postgresql":
        return not _locked_elsewhere(job)
    return timezone.now() - job.updated_at > timedelta(seconds=settings.IMPORT_STALE_SECONDS)


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
            if action == PREVIEW:
                ImportJob.objects.filter(pk=job.pk).update(state=State.PREVIEWING, updated_at=timezone.now())
                _preview(job, progress=progress)
            else:
                _commit(job, progress=progress)
        except RosterFileError as exc:
            _refuse(job, str(exc))
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


def _preview(job, *, progress):
    """Judge every row; save the counts, the errors and the invalid rows (待确认 or 已拒绝)."""
    importer = IMPORTERS[job.category]
    result = importer(bytes(job.content), scope=ImportScope.for_user(job.owner), progress=progress)
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
    since the preview). Committed: 已完成. Refused (invalid rows without 仅导入有效行, or a
    service refusal): 已拒绝, nothing written. Either way the uploaded file is dropped.
    """
    importer = IMPORTERS[job.category]
    with transaction.atomic():
        result = importer(
            bytes(job.content),
            scope=ImportScope.for_user(job.owner),
            commit=True,
            skip_invalid=job.skip_invalid,
            progress=progress,
        )
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


def _refuse(job, message):
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        state=State.REFUSED, failure=message, content=None, finished_at=now, updated_at=now
    )


def _record(job, result):
    summary = result.summary()
    job.errors = summary.pop("errors")
    job.summary = summary
    job.invalid_rows = invalid_rows_workbook(result) if result.count(Verdict.INVALID) else None
    tracker = getattr(result, "tracker", None)  # the pipeline's own count of the steps
    job.progress_total = tracker.total if tracker is not None else len(result.rows)
    job.progress_done = job.progress_total
    job.updated_at = timezone.now()


def _finish(job):
    """A finished job keeps its counts, errors and invalid rows; the uploaded file goes."""
    job.content = None
    job.finished_at = timezone.now()


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
