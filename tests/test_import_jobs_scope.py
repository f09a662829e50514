"""Import jobs and their personal data (issue 12 §4).

A job, and every file derived from it, is read through the owner's *current* scope: an officer
moved to another county by the security administrator gets a 404 on every page of the jobs they
started in the old one, as on the old county's records. The uploaded file, the errors and the
invalid rows go when the job is committed or discarded, and after IMPORT_RETENTION_HOURS
without progress in any state (``purge_import_jobs``, the clock moved with ``--on``).
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from accounts import policy
from accounts.models import Role, User
from accounts.services import role_permissions_apply
from registry.models import Child, ImportJob
from registry.roster import tasks
from tests.factories import ChildFactory, UserFactory
from tests.test_roster_upload import (
    _worker_keeps_the_test_connection,  # noqa: F401 - autouse here too
    job_of,
    roster,
    run_worker,
    upload,
)

State = ImportJob.State
GET_PAGES = ("import_job", "import_job_progress", "import_job_invalid_rows")
POST_PAGES = ("import_job_confirm", "import_job_rerun", "import_job_discard")


@pytest.fixture
def secadmin(db):
    user = UserFactory(username="sec", role=Role.SECURITY_ADMIN, region=None)
    role_permissions_apply(user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def county(client, cast):
    client.force_login(cast["county"])
    return client


def _move(client, secadmin, account, region, role=Role.COUNTY_OFFICER):
    """The security administrator gives ``account`` another region, through the admin's change page."""
    client.force_login(secadmin)
    response = client.post(
        reverse("admin:accounts_user_change", args=[account.pk]),
        {"username": account.username, "is_active": "on", "role": role, "region": region.pk, "_save": "1"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    account.refresh_from_db()
    assert (account.role, account.region) == (role, region)


def _statuses(client, job):
    got = {name: client.get(reverse(name, kwargs={"pk": job.pk})).status_code for name in GET_PAGES}
    got |= {name: client.post(reverse(name, kwargs={"pk": job.pk})).status_code for name in POST_PAGES}
    return got


# --- scope ----------------------------------------------------------------------------------------


def test_import_job_every_page_is_404_after_the_owner_moves_to_another_county(client, cast, tree, secadmin):
    officer = cast["county"]
    child = ChildFactory(village=tree["410922100201"])
    client.force_login(officer)
    content, _ = roster(3, invalid={2})
    job = job_of(upload(client, content, skip_invalid=True))
    assert (job.state, job.region) == (State.AWAITING, tree["410922"])
    invalid = client.get(reverse("import_job_invalid_rows", kwargs={"pk": job.pk}))
    assert invalid.status_code == 200  # the probe's file, while the officer holds the county

    _move(client, secadmin, officer, tree["410923"])

    client.force_login(officer)
    record = reverse("record_detail", kwargs={"kind": "children", "pk": child.pk})
    assert client.get(record).status_code == 404
    assert _statuses(client, job) == dict.fromkeys(GET_PAGES + POST_PAGES, 404)
    assert list(client.get(reverse("import_job_list")).context["page"].object_list) == []
    assert list(client.get(reverse("import_upload")).context["jobs"]) == []
    job.refresh_from_db()
    assert (job.state, job.attempt, Child.objects.count()) == (State.AWAITING, 1, 1)
    assert policy.can_read_import_job(officer, job) is False


def test_import_job_stays_readable_when_the_owner_moves_to_a_region_holding_it(client, cast, tree, secadmin):
    officer = cast["county"]
    client.force_login(officer)
    job = job_of(upload(client, roster(2, invalid={2})[0], skip_invalid=True))

    _move(client, secadmin, officer, tree["4109"], role=Role.CITY_OFFICE)

    client.force_login(officer)
    assert _statuses(client, job)["import_job"] == 200
    assert [j.pk for j in client.get(reverse("import_job_list")).context["page"].object_list] == [job.pk]


def test_import_job_queued_before_the_owner_moved_is_refused_by_the_worker(client, cast, tree, settings):
    settings.IMPORT_BACKGROUND_ROWS = 3
    officer = cast["county"]
    client.force_login(officer)
    job = job_of(upload(client, roster(5)[0]))
    assert job.state == State.QUEUED
    officer.region = tree["410923"]  # what the security administrator's change does
    officer.save(update_fields=["region"])

    run_worker()

    job.refresh_from_db()
    assert (job.state, job.failure, Child.objects.count()) == (State.REFUSED, tasks.SCOPE_CHANGED, 0)
    assert (job.content, job.errors, job.invalid_rows) == (None, [], None)
    assert job.data_deleted_at is not None


# --- personal data deleted when the job ends --------------------------------------------------------


def test_import_job_commit_deletes_the_file_errors_and_invalid_rows(county):
    job = job_of(upload(county, roster(4, invalid={3})[0], skip_invalid=True))
    awaiting = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "确认或放弃后，原文件、错误明细和无效行将按规定删除：如需修改无效行，请先下载。" in awaiting

    county.post(reverse("import_job_confirm", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (job.state, job.content, job.errors, job.invalid_rows) == (State.DONE, None, [], None)
    assert job.data_deleted_at == job.finished_at
    assert job.summary == {"rows": 4, "valid": 3, "invalid": 1, "created": 3, "updated": 0, "unchanged": 0}
    page = county.get(reverse("import_job", kwargs={"pk": job.pk}))
    body = page.content.decode()
    assert "导入完成：新增 3 条，更新 0 条，跳过无效行 1 行。" in body
    assert "导入已完成，原文件和明细已按规定删除" in body
    assert "下载无效行" not in body and 'id="import-errors"' not in body
    assert county.get(reverse("import_job_invalid_rows", kwargs={"pk": job.pk})).status_code == 404


def test_import_job_discard_deletes_the_file_errors_and_invalid_rows(county):
    job = job_of(upload(county, roster(3, invalid={1})[0], skip_invalid=True))
    assert (job.errors != [], job.invalid_rows is not None) == (True, True)

    county.post(reverse("import_job_discard", kwargs={"pk": job.pk}))

    job.refresh_from_db()
    assert (job.state, job.failure, job.content, job.errors, job.invalid_rows) == (
        State.REFUSED,
        tasks.DISCARDED,
        None,
        [],
        None,
    )
    assert job.data_deleted_at is not None
    body = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "原文件和明细已按规定删除" in body


def test_import_job_refused_keeps_its_errors_for_correction_until_the_retention(county):
    job = job_of(upload(county, roster(3, invalid={2})[0]))

    assert (job.state, job.content, len(job.errors), job.data_deleted_at) == (State.REFUSED, None, 1, None)
    body = county.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "错误明细和无效行保留 24 小时供修改后重新上传，之后按规定删除。" in body


# --- the retention purge --------------------------------------------------------------------------


def _aged(job, hours):
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=hours))


def test_purge_import_jobs_deletes_what_is_older_than_the_retention(county, cast):
    awaiting = job_of(upload(county, roster(2, invalid={2})[0], skip_invalid=True))
    refused = job_of(upload(county, roster(2, invalid={1})[0]))
    recent = job_of(upload(county, roster(2, invalid={1})[0], skip_invalid=True))
    done = job_of(upload(county, roster(1)[0]))
    county.post(reverse("import_job_confirm", kwargs={"pk": done.pk}))
    for job in (awaiting, refused, done):
        _aged(job, 2)
    on = timezone.localtime() + timedelta(hours=23)

    out = _purge(on)

    assert out == f"已删除 2 个导入的原文件和明细（截至 {on:%Y-%m-%d %H:%M}）。\n"
    rows = {
        j.pk: (j.state, j.content, j.errors, j.invalid_rows, j.data_deleted_at is not None)
        for j in ImportJob.objects.all()
    }
    assert rows[awaiting.pk] == (State.REFUSED, None, [], None, True)
    assert rows[refused.pk] == (State.REFUSED, None, [], None, True)
    assert rows[recent.pk][:2] == (State.AWAITING, recent.content)
    assert rows[recent.pk][2:] == (recent.errors, recent.invalid_rows, False)
    assert rows[done.pk] == (State.DONE, None, [], None, True)
    awaiting.refresh_from_db()
    assert awaiting.failure == tasks.EXPIRED.format(hours=24)
    assert awaiting.summary["invalid"] == 1  # the counts stay for the history
    page = county.get(reverse("import_job", kwargs={"pk": awaiting.pk}))
    body = page.content.decode()
    assert page.status_code == 200
    assert "超过24小时未完成，已自动放弃" in body and "原文件和明细已按规定删除" in body
    assert "确认导入" not in body and 'id="import-errors"' not in body
    assert county.get(reverse("import_job_invalid_rows", kwargs={"pk": awaiting.pk})).status_code == 404
    assert county.post(reverse("import_job_confirm", kwargs={"pk": awaiting.pk})).status_code == 302
    assert Child.objects.count() == 1  # only the job committed before


def test_purge_import_jobs_keeps_jobs_younger_than_the_retention(county):
    job = job_of(upload(county, roster(2, invalid={2})[0], skip_invalid=True))

    assert _purge(timezone.localtime() + timedelta(hours=23)).startswith("已删除 0 个")

    job.refresh_from_db()
    assert (job.state, job.content is not None, len(job.errors)) == (State.AWAITING, True, 1)


def test_purge_import_jobs_refuses_an_unreadable_moment(db):
    with pytest.raises(CommandError, match="无法识别"):
        call_command("purge_import_jobs", "--on", "明天")


def _purge(on):
    out = StringIO()
    call_command("purge_import_jobs", "--on", on.strftime("%Y-%m-%dT%H:%M"), stdout=out)
    return out.getvalue()


# --- the migration that records each existing job's region ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_import_job_region_migration_files_each_job_under_its_owners_region(audit_log_flushable_on_sqlite):
    before = [("registry", "0011_import_job_region_and_data_deleted")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        executor = MigrationExecutor(connection)
        old = executor._create_project_state(with_applied_migrations=True).apps  # what the database holds
        Region, User = old.get_model("registry", "Region"), old.get_model("accounts", "User")
        Job = old.get_model("registry", "ImportJob")
        province = Region.objects.create(code="410000000000", name="河南省", level="province")
        county = Region.objects.create(code="410922000000", name="清丰县", level="county", parent=province)
        officer = User.objects.create(username="officer", role=Role.COUNTY_OFFICER, region_id=county.pk)
        moved = User.objects.create(username="moved", role=Role.LIAISON)
        fields = {"category": "child", "file_name": "a.csv", "content": b"x", "errors": [{"row": 2}]}
        kept = Job.objects.create(owner_id=officer.pk, **fields)
        orphan = Job.objects.create(owner_id=moved.pk, invalid_rows=b"y", **fields)
    finally:
        MigrationExecutor(connection).migrate(latest)

    rows = {
        job.pk: (job.region_id, job.content and bytes(job.content), job.errors, job.invalid_rows)
        for job in ImportJob.objects.all()
    }
    assert rows == {
        kept.pk: (county.pk, b"x", [{"row": 2}], None),
        orphan.pk: (province.pk, None, [], None),  # the topmost region: its data deleted
    }
    assert list(ImportJob.objects.exclude(data_deleted_at=None).values_list("pk", flat=True)) == [orphan.pk]
