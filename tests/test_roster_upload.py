"""The roster upload page (issue 5): preview, confirm, result, background jobs and their re-run.

Background jobs go through the real queue: the django-tasks database backend stores the task and
``run_worker`` runs the db_worker's own Worker in-process (batch mode) on the test database.
"""

import io
import zipfile
from contextlib import contextmanager

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from audit.models import AuditEvent
from registry import records
from registry.models import Child, ImportJob
from registry.roster import reader, tasks
from registry.roster import views as views_import
from registry.roster.errors import REASONS
from tests.factories import make_id_number, years_ago

HEADER = ["序号", "姓名", "身份证号", "村代码", "监护类型", "监护人姓名", "与儿童关系", "监护人电话",
          "父亲姓名", "父亲状况", "母亲姓名", "母亲状况"]  # fmt: skip
VILLAGE = "410922100201"
State = ImportJob.State


def roster(n, *, invalid=(), village=VILLAGE, ids=None):
    """A CSV roster of ``n`` children of ``village``; rows numbered in ``invalid`` (1-based data
    rows) carry an unknown 父亲状况. Returns (bytes, ID numbers)."""
    ids = ids or [make_id_number(village[:6], years_ago(5 + i % 9, days=i // 9)) for i in range(n)]
    lines = [",".join(HEADER)]
    for i, number in enumerate(ids, start=1):
        father = "出门" if i in invalid else "外出务工"
        lines.append(
            f"{i},儿童{i},{number},{village},祖辈监护,张奶奶,祖父母,13812345678,张大山,{father},李小花,外出务工"
        )
    return ("\n".join(lines) + "\n").encode(), ids


def upload(client, content, *, name="花名册.csv", category="child", skip_invalid=False, **extra):
    data = {"category": category, "file": _file(content, name)}
    if skip_invalid:
        data["skip_invalid"] = "on"
    return client.post(reverse("import_upload"), data, **extra)


def _file(content, name):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


@pytest.fixture(autouse=True)
def _worker_keeps_the_test_connection(monkeypatch):
    # The worker drops connections between tasks (close_old_connections); in a test that would
    # close the connection holding the test's transaction (PostgreSQL), so it keeps it here.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def run_worker():
    """What ``manage.py db_worker --batch`` does, in this process and on the test database."""
    db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    ).run()


def job_of(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


@pytest.fixture
def county(client, cast):
    client.force_login(cast["county"])
    return client


# --- the page and who sees it ---------------------------------------------------------------


def test_upload_page_offers_the_three_categories_to_county_and_city(client, cast):
    for role in ("county", "city"):
        client.force_login(cast[role])
        response = client.get(reverse("import_upload"))
        assert response.status_code == 200
        assert [c for c, _ in response.context["form"].fields["category"].choices] == [
            "child",
            "woman",
            "elder",
        ]
        assert ("导入花名册", reverse("import_upload")) in response.context["nav_items"]


@pytest.mark.parametrize("role", ["cadre_a", "township", "supervisor", "liaison", "sysadmin"])
def test_upload_page_is_404_for_who_may_not_import(client, cast, role):
    client.force_login(cast[role])
    assert client.get(reverse("import_upload")).status_code == 404
    content, _ = roster(1)
    assert upload(client, content).status_code == 404
    assert ImportJob.objects.count() == 0
    home = client.get(reverse("home"))
    assert "导入花名册" not in [label for label, _ in home.context["nav_items"]]


def test_jobs_are_visible_only_to_their_owner(client, cast, county):
    content, _ = roster(2, invalid={2})
    job = job_of(upload(county, content))
    other = Client()
    other.force_login(cast["city"])  # sees the whole city, but not another officer's import
    for name in ("import_job", "import_job_progress", "import_job_invalid_rows"):
        assert other.get(reverse(name, kwargs={"pk": job.pk})).status_code == 404, name
    for name in ("import_job_confirm", "import_job_rerun", "import_job_discard"):
        assert other.post(reverse(name, kwargs={"pk": job.pk})).status_code == 404, name
    assert list(other.get(reverse("import_job_list")).context["page"].object_list) == []
    job.refresh_from_db()
    assert (job.state, Child.objects.count()) == (State.REFUSED, 0)


# --- small files: preview, confirm, result in the request ----------------------------------------


def test_small_file_preview_confirm_and_reimport_changes_nothing(county, cast):
    content, ids = roster(4, invalid={3})

    job = job_of(upload(county, content, skip_invalid=True))

    assert (job.state, job.background, job.rows) == (State.AWAITING, False, 5)
    assert job.summary == {"rows": 4, "valid": 3, "invalid": 1, "created": 3, "updated": 0, "unchanged": 0}
    assert job.errors == [
        {
            "row": 4,
            "column": "父亲状况",
            "message": "父亲状况“出门”无法识别，可填：外出务工、在家、无监护能力、死亡、服刑、失联、离异",
        }
    ]
    assert Child.objects.count() == 0
    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    body = page.content.decode()
    assert "确认导入" in body and "第4行" in body and "父亲状况“出门”无法识别" in body
    assert page.context["polling"] is False

    response = county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert response["Location"] == reverse("import_job", kwargs={"pk": job.pk})
    assert (job.state, job.content, job.summary["created"]) == (State.DONE, None, 3)
    assert job.finished_at is not None
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted(ids[:2] + ids[3:])
    done = county.get(response["Location"]).content.decode()
    assert "导入完成：新增 3 条，更新 0 条，跳过无效行 1 行。" in done
    # The roster had no 监护评估: the page leads to the children awaiting their assessment.
    pending = reverse("record_list", kwargs={"kind": "children"}) + "?assessment=pending"
    assert f'<a href="{pending}">查看待评估的儿童</a>' in done
    listed = county.get(pending)
    assert sorted(r.id_number for r in listed.context["page"]) == sorted(ids[:2] + ids[3:])

    again = job_of(upload(county, content, skip_invalid=True))
    assert again.summary == {"rows": 4, "valid": 3, "invalid": 1, "created": 0, "updated": 0, "unchanged": 3}
    county.post(reverse("import_job_confirm", kwargs={"pk": again.pk}))
    again.refresh_from_db()
    assert (again.state, again.summary["created"], again.summary["updated"]) == (State.DONE, 0, 0)
    assert [child.history.count() for child in Child.objects.all()] == [1, 1, 1]


def test_invalid_rows_without_skip_refuse_the_whole_file(county):
    content, _ = roster(3, invalid={2})

    job = job_of(upload(county, content))

    assert (job.state, job.content, Child.objects.count()) == (State.REFUSED, None, 0)
    assert job.failure == tasks.REFUSED_INVALID.format(invalid=1)
    body = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert tasks.REFUSED_INVALID.format(invalid=1).replace("“", "&ldquo;")[:10] in body
    assert "确认导入" not in body
    assert county.post(reverse("import_job_confirm", kwargs={"pk": job.pk})).status_code == 302
    job.refresh_from_db()
    assert (job.state, Child.objects.count()) == (State.REFUSED, 0)


def test_invalid_rows_download_as_xlsx_with_reasons_and_is_logged(county, cast):
    content, ids = roster(3, invalid={2, 3})
    job = job_of(upload(county, content, skip_invalid=True))

    response = county.get(reverse("import_job_invalid_rows", kwargs={"pk": job.pk}))

    assert response["Content-Type"] == views_import.XLSX
    assert (
        response["Content-Disposition"]
        == "attachment; filename*=utf-8''%E6%97%A0%E6%95%88%E8%A1%8C-%E8%8A%B1%E5%90%8D%E5%86%8C.xlsx"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == REASONS
    assert [(r[0], r[3]) for r in rows[1:]] == [(3, ids[1]), (4, ids[2])]
    assert rows[1][-1].startswith("第3行 父亲状况：")
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).get()
    assert (event.user, event.row_count) == (cast["county"], 2)


def test_a_file_without_invalid_rows_offers_no_download(county):
    content, _ = roster(2)
    job = job_of(upload(county, content))
    assert county.get(reverse("import_job_invalid_rows", kwargs={"pk": job.pk})).status_code == 404


def test_error_list_is_paginated_and_says_how_many_more(county):
    content, _ = roster(150, invalid=set(range(1, 151)))
    job = job_of(upload(county, content, skip_invalid=True))

    first = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    second = county.get(reverse("import_job", kwargs={"pk": job.pk}), {"page": 2})

    assert len(first.context["errors"].object_list) == views_import.ERRORS_PER_PAGE == 100
    assert "共 150 条，本页第 1–100 条，后面还有 50 条" in first.content.decode()
    assert [e["row"] for e in second.context["errors"].object_list] == list(range(102, 152))


def test_discard_drops_the_file_and_writes_nothing(county):
    content, _ = roster(2)
    job = job_of(upload(county, content))

    county.post(reverse("import_job_discard", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (job.state, job.content, job.failure, Child.objects.count()) == (
        State.REFUSED,
        None,
        tasks.DISCARDED,
        0,
    )


# --- file-level errors and the size limit --------------------------------------------------------


def _zip_without_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return out.getvalue()


def _macro_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/vbaProject.bin", b"\0")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_zip_without_workbook(), reader.NOT_SPREADSHEET),
        (_macro_workbook(), reader.MACRO),
        ("村名,人数\n一村,3\n".encode(), "没有找到表头"),
    ],
    ids=["not-a-workbook", "macro", "no-header"],
)
def test_file_level_error_is_shown_on_the_form_and_nothing_is_written(county, content, message):
    response = upload(county, content, name="花名册.xlsx")

    assert response.status_code == 400
    assert response.context["form"].errors["file"][0].startswith(message)
    assert message[:12] in response.content.decode()
    assert (ImportJob.objects.count(), Child.objects.count()) == (0, 0)


def test_request_over_the_size_limit_is_refused_before_its_body_is_read(county):
    content, _ = roster(1)
    # The test client's payload raises if more than its real length is read: a view that
    # parsed the body claimed to be this long would fail, not answer 413.
    claimed = str(views_import.MAX_REQUEST_BYTES + 1)

    response = upload(county, content, CONTENT_LENGTH=claimed)

    assert response.status_code == 413
    assert views_import.TOO_BIG in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_file_over_the_limit_is_refused_by_the_form(county, monkeypatch):
    monkeypatch.setattr(views_import, "MAX_FILE_BYTES", 100)
    content, _ = roster(3)

    response = upload(county, content)

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [views_import.TOO_BIG]
    assert ImportJob.objects.count() == 0


# --- big files: the worker, the progress bar, coming back --------------------------------------


def test_big_file_is_previewed_and_committed_by_the_worker(county, settings):
    settings.IMPORT_BACKGROUND_ROWS = 5
    content, ids = roster(8)

    job = job_of(upload(county, content))

    assert (job.state, job.background, Child.objects.count()) == (State.QUEUED, True, 0)
    task = DBTaskResult.objects.get()
    assert (task.status, task.task_path, task.args_kwargs["args"]) == (
        "READY",
        "registry.roster.tasks.run_import_job",
        [job.pk, "preview", 1],
    )
    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    body = page.content.decode()
    assert '<progress class="w-100">' in body
    assert f'hx-get="{reverse("import_job_progress", kwargs={"pk": job.pk})}"' in body
    assert "等待后台进程处理" in body
    assert page.context["stuck"] is False

    run_worker()

    job.refresh_from_db()
    assert (job.state, job.summary["created"], job.progress_done, job.progress_total) == (
        State.AWAITING,
        8,
        8,
        8,
    )
    progress = county.get(reverse("import_job_progress", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"

    county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))
    job.refresh_from_db()
    assert (job.state, Child.objects.count()) == (State.COMMITTING, 0)
    running = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "正在写入台账" in running and "<progress" in running

    run_worker()

    job.refresh_from_db()
    assert (job.state, job.content, job.summary["created"]) == (State.DONE, None, 8)
    assert job.progress_done == job.progress_total == 8  # the commit judges and writes each row once
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted(ids)
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]
    listed = county.get(reverse("import_job_list"))
    assert [j.pk for j in listed.context["page"].object_list] == [job.pk]
    assert "新增 8，更新 0，无变化 0，无效 0" in listed.content.decode()


@contextmanager
def live_run(job):
    """Another database session holds the job's lock, as a live run does (PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield
        return
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [tasks.LOCK_CLASS, job.pk])
        yield
    finally:
        other.close()


def test_progress_bar_shows_done_of_total_while_running(county, cast):
    job = ImportJob.objects.create(
        owner=cast["county"], region=cast["county"].region, category="child", file_name="大.csv",
        content=b"x", background=False,
        rows=20000, state=State.COMMITTING, attempt=2, progress_done=5000, progress_total=40000,
    )  # fmt: skip
    with live_run(job):
        response = county.get(reverse("import_job_progress", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert '<progress class="w-100" max="40000" value="5000">' in body
    assert "已处理 5000 / 40000" in body
    assert 'hx-trigger="every 2s"' in body
    assert "style=" not in body
    assert "HX-Refresh" not in response


def test_background_file_with_no_header_is_refused_by_the_worker(county, settings):
    settings.IMPORT_BACKGROUND_ROWS = 1
    job = job_of(upload(county, "村名,人数\n一村,3\n二村,4\n".encode()))

    run_worker()

    job.refresh_from_db()
    assert (job.state, job.content) == (State.REFUSED, None)
    assert job.failure.startswith("没有找到表头")


# --- faults: nothing partial, and the job can be re-run -------------------------------------------


def _fail_after_writing(monkeypatch):
    """Fault injection: the first time the registry's bulk create service runs, it writes its rows
    (inside the import's transaction) and then raises. Returns the children there at that moment."""
    original, seen = records.record_create_many, []

    def failing(**kwargs):
        created = original(**kwargs)
        if not seen:
            seen.append(Child.objects.count())
            raise RuntimeError("injected fault")
        return created

    monkeypatch.setattr(records, "record_create_many", failing)
    return seen


def test_failure_in_the_middle_of_a_commit_writes_nothing_and_job_can_be_rerun(county, monkeypatch):
    content, ids = roster(6)
    job = job_of(upload(county, content))
    seen = _fail_after_writing(monkeypatch)

    county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (seen, job.state, Child.objects.count()) == ([6], State.FAILED, 0)
    assert job.failure == tasks.CRASHED.format(error="RuntimeError")
    assert job.content is not None  # kept for the re-run
    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    assert page.context["stuck"] is True and "重新运行" in page.content.decode()

    county.post(reverse("import_job_rerun", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (job.state, job.attempt, job.summary["created"]) == (State.DONE, 3, 6)
    assert sorted(Child.objects.values_list("id_number", flat=True)) == sorted(ids)


def test_background_commit_failure_writes_nothing_and_rerun_goes_through_the_queue(
    county, settings, monkeypatch
):
    settings.IMPORT_BACKGROUND_ROWS = 3
    content, ids = roster(5)
    job = job_of(upload(county, content))
    run_worker()
    county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))
    seen = _fail_after_writing(monkeypatch)

    run_worker()

    job.refresh_from_db()
    assert (seen, job.state, Child.objects.count()) == ([5], State.FAILED, 0)
    county.post(reverse("import_job_rerun", kwargs={"pk": job.pk}))
    job.refresh_from_db()
    assert (job.state, job.attempt) == (State.COMMITTING, 3)
    run_worker()
    job.refresh_from_db()
    assert (job.state, Child.objects.count()) == (State.DONE, 5)


def _kill_worker_mid_commit(job):
    """What a SIGKILLed worker leaves: the job 导入中, its task claimed (RUNNING) and nobody on it."""
    task = DBTaskResult.objects.get(id=job.task_id)
    task.claim("dead-worker")
    if connection.vendor != "postgresql":  # SQLite cannot ask for a lock: the job must fall silent
        ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timezone.timedelta(hours=1))


def test_job_whose_worker_died_can_be_rerun_and_the_old_attempt_does_nothing(county, settings):
    settings.IMPORT_BACKGROUND_ROWS = 3
    content, ids = roster(5)
    job = job_of(upload(county, content))
    run_worker()
    county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))
    job.refresh_from_db()
    assert tasks.import_job_is_stuck(job) is False  # queued: waiting for a worker
    _kill_worker_mid_commit(job)
    job.refresh_from_db()
    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    assert page.context["stuck"] is True
    assert "后台处理已中断" in page.content.decode()

    county.post(reverse("import_job_rerun", kwargs={"pk": job.pk}))
    job.refresh_from_db()
    assert (job.state, job.attempt) == (State.COMMITTING, 3)
    assert tasks.run_import_job_now(job.pk, tasks.COMMIT, 2) == "skipped"  # the dead attempt
    assert Child.objects.count() == 0
    run_worker()

    job.refresh_from_db()
    assert (job.state, Child.objects.count()) == (State.DONE, 5)


def test_a_running_job_cannot_be_rerun(county, cast):
    job = ImportJob.objects.create(
        owner=cast["county"], region=cast["county"].region, category="child", file_name="a.csv", content=b"x",
        background=False,
        rows=3, state=State.COMMITTING, attempt=2,
    )  # fmt: skip
    with live_run(job):
        response = county.post(reverse("import_job_rerun", kwargs={"pk": job.pk}), follow=True)
    job.refresh_from_db()
    assert (job.state, job.attempt) == (State.COMMITTING, 2)
    assert [str(m) for m in response.context["messages"]] == [tasks.NOT_STUCK]


# --- lists ----------------------------------------------------------------------------------------


def test_job_list_queries_do_not_grow_with_jobs(county, cast, django_assert_max_num_queries):
    summary = {"created": 1, "updated": 0, "unchanged": 0, "invalid": 0}

    def make(n):
        for i in range(n):
            ImportJob.objects.create(
                owner=cast["county"], region=cast["county"].region, category="child", file_name=f"{i}.csv",
                rows=1, state=State.DONE,
                finished_at=timezone.now(), summary=summary,
            )  # fmt: skip

    make(1)
    with django_assert_max_num_queries(20) as one:
        county.get(reverse("import_job_list"))
    make(15)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = county.get(reverse("import_job_list"))
    assert len(response.context["page"].object_list) == 16
