"""The roster upload page for county and city officers (issue 5) and the pages of their imports.

Upload → preview (counts, every error, the invalid rows as xlsx) → confirm → result. A big file
is previewed and committed by the background worker while the job's page shows a progress bar
(htmx polls ``import_job_progress``); the officer may leave and come back through 我的导入.
A job is its owner's alone, and only while the region it was uploaded for is inside the owner's
current scope (accounts.policy.can_read_import_job): anyone else, or the owner moved to another
county, gets a 404 on every page and file of it. The work is done by registry.roster.tasks.
"""

import io
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from audit.models import AuditEvent
from registry import records
from registry.choices import Category
from registry.export import XLSX
from registry.models import ImportJob
from registry.roster import tasks
from registry.roster.reader import MAX_FILE_BYTES, RosterFileError

# The file plus what multipart adds around it (boundaries, the category, the CSRF token).
MAX_REQUEST_BYTES = MAX_FILE_BYTES + 256 * 1024
TOO_BIG = f"文件过大：花名册文件不能超过{MAX_FILE_BYTES // 2**20}MB，请拆分后分批导入。"
ERRORS_PER_PAGE = 100
JOBS_PER_PAGE = 20
REGISTER_SLUGS = {Category.CHILD: "children", Category.WOMAN: "women", Category.ELDER: "elders"}


class UploadForm(forms.Form):
    category = forms.ChoiceField(
        label="类别", choices=Category.choices, initial=Category.CHILD, widget=forms.RadioSelect
    )
    file = forms.FileField(
        label="花名册文件",
        help_text=f"Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK 编码），不超过{MAX_FILE_BYTES // 2**20}MB。",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx,.xls,.csv"}),
    )
    skip_invalid = forms.BooleanField(
        label="仅导入有效行",
        required=False,
        help_text="不勾选时，只要有一行无效，整个文件都不导入；勾选后只导入有效行，无效行可下载修改后再导入。",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(TOO_BIG)
        return upload


def _may_import(user):
    return bool(policy.import_prefixes(user))


def get_job_for_user(user, pk, *, with_files=False):
    """The import job if ``user`` may read it (policy.can_read_import_job); a 404 otherwise."""
    jobs = ImportJob.objects.owned_by(user).select_related("region")
    if not with_files:
        jobs = jobs.without_content()
    job = get_object_or_404(jobs, pk=pk)
    if not policy.can_read_import_job(user, job):
        raise Http404
    return job


def _declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt  # the CSRF check reads the whole body: it runs in _upload, after the size check
@require_http_methods(["GET", "POST"])
def import_upload(request):
    """The upload form. A request bigger than the limit is refused from its Content-Length,
    before a byte of its body is read."""
    if request.method == "POST" and _declared_length(request) > MAX_REQUEST_BYTES:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _may_import(request.user):
            raise Http404
        return _upload_page(request, UploadForm(), too_big=True, status=413)
    return _upload(request)


@csrf_protect
@login_required
def _upload(request):
    if not _may_import(request.user):
        raise Http404
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = tasks.import_job_create(
                user=request.user,
                category=form.cleaned_data["category"],
                file_name=PurePath(upload.name).name,
                content=upload.read(),
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except RosterFileError as exc:
            form.add_error("file", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("import_job", pk=job.pk)
    return _upload_page(request, form, status=400 if form.errors else 200)


def _upload_page(request, form, *, too_big=False, status=200):
    jobs = ImportJob.objects.readable_by(request.user).without_content()[:5]
    templates = [(label, REGISTER_SLUGS[value]) for value, label in Category.choices]
    context = {"form": form, "too_big": too_big, "too_big_message": TOO_BIG, "jobs": jobs}
    context["templates"] = templates
    return render(request, "registry/import_upload.html", context, status=status)


@require_GET
@login_required
def import_job_list(request):
    """我的导入: the officer's own jobs, newest first, to come back to."""
    jobs = ImportJob.objects.readable_by(request.user).without_content()
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    if not page.object_list and not _may_import(request.user):
        raise Http404
    return render(request, "registry/import_job_list.html", {"page": page})


@require_GET
@login_required
def import_job(request, pk):
    """A job: its progress while it runs, then its preview or result and every error."""
    job = get_job_for_user(request.user, pk)
    hold_up = tasks.import_job_hold_up(job)
    errors = Paginator(job.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/import_job.html",
        {
            "job": job,
            "stuck": hold_up is not None,
            "hold_up": hold_up,
            "polling": job.is_running and hold_up is None,
            "errors": errors,
            "more_errors": len(job.errors) - errors.end_index() if job.errors else 0,
            "has_invalid_rows": ImportJob.objects.filter(pk=job.pk, invalid_rows__isnull=False).exists(),
            "can_confirm": job.state == ImportJob.State.AWAITING,
            "can_discard": job.state == ImportJob.State.AWAITING or hold_up is not None,  # failed: held up
            "retention_hours": settings.IMPORT_RETENTION_HOURS,
        },
    )


@require_GET
@login_required
def import_job_progress(request, pk):
    """The progress bar, polled by htmx; once the job has moved on, the whole page reloads."""
    job = get_job_for_user(request.user, pk)
    stuck = tasks.import_job_is_stuck(job)
    response = render(request, "registry/_import_progress.html", {"job": job, "polling": not stuck})
    if request.htmx and (not job.is_running or stuck):
        response["HX-Refresh"] = "true"
    return response


def _service_action(request, pk, service, done_message):
    job = get_job_for_user(request.user, pk)
    try:
        job = service(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if done_message:
            messages.success(request, done_message)
    return redirect("import_job", pk=job.pk)


@require_POST
@login_required
def import_job_confirm(request, pk):
    return _service_action(request, pk, tasks.import_job_confirm, None)


@require_POST
@login_required
def import_job_rerun(request, pk):
    return _service_action(request, pk, tasks.import_job_rerun, "已重新运行。")


@require_POST
@login_required
def import_job_discard(request, pk):
    return _service_action(request, pk, tasks.import_job_discard, "已放弃本次导入，上传的文件已删除。")


@require_GET
@login_required
def import_job_invalid_rows(request, pk):
    """The invalid rows as xlsx, with a 错误原因 column, to correct and import again (logged)."""
    job = get_job_for_user(request.user, pk, with_files=True)
    if not job.invalid_rows:
        raise Http404
    records.access_log_write(
        request,
        AuditEvent.Action.EXPORT,
        job.category,
        count=job.summary.get("invalid", 0),
        detail=f"花名册导入无效行：{job.file_name}"[:300],
    )
    filename = f"无效行-{PurePath(job.file_name).stem}.xlsx"
    return FileResponse(
        io.BytesIO(job.invalid_rows), as_attachment=True, filename=filename, content_type=XLSX
    )
