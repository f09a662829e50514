"""The admin's door onto the roster import (issue 5: three doors, one pipeline), and regions.

The record admins exist for the import: django-import-export's ``ImportMixin`` gives the
changelist its 导入 button, the ``import/`` and ``process_import/`` URLs and the temporary file
storage between preview and confirmation; the reading, validation, preview and commit are
``registry.roster.pipeline`` — the same as the command and the upload page — never
import-export's row-by-row resources (DESIGN §6 lists why). The uploaded bytes go to our reader
untouched (import-export would decode text as UTF-8 only; rosters come in GBK too).

Who: staff county and city officers (``policy.import_prefixes``), each within their own scope
(``ImportScope.for_user``). Never a system administrator (三权分立: no reader of personal
records), nor anyone else: for them these pages are a 404. The changelist is deliberately
minimal: the importer's own records (``visible_to``), name, village and status only, no links,
no search, no add, change or delete — and its pages are written to the access log like the site's.
"""

import hashlib
import os

from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from import_export.admin import ImportMixin

from accounts import policy
from audit.masking import search_detail
from audit.models import AuditEvent
from registry import records
from registry.choices import Category
from registry.models import Child, Elder, Region, Woman
from registry.roster.pipeline import IMPORTERS, ImportScope, Verdict
from registry.roster.reader import MAX_FILE_BYTES, TOO_BIG, RosterFileError

# How long a preview may wait for its confirmation.
CONFIRM_SECONDS = 60 * 60
CONFIRM_SALT = "registry.admin.roster_import"
EXPIRED = "导入确认已失效（超过一小时或文件已被处理），请重新上传花名册。"
RECORD_PAGES = {Category.CHILD: "children", Category.WOMAN: "women", Category.ELDER: "elders"}


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]


def may_import_in_admin(user):
    """A staff account that may import rosters (county and city officers), never an administrator."""
    return bool(user.is_staff and policy.import_prefixes(user)) and not policy.is_system_admin(user)


class RosterUploadForm(forms.Form):
    import_file = forms.FileField(
        label="花名册文件",
        help_text="Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK 编码）；表头用导入模板的或村里原有的均可。",
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(TOO_BIG.format(limit=MAX_FILE_BYTES // 2**20))
        return upload


class RosterConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    skip_invalid = forms.BooleanField(label="跳过有错误的行，只导入其余的行", required=False)


class RecordImportAdmin(ImportMixin, admin.ModelAdmin):
    """A register in the admin: the import, and a minimal list of the importer's own records."""

    import_template_name = "admin/registry/roster_import.html"
    list_display = ["name", "village", "status"]
    list_display_links = None
    list_select_related = ["village"]
    list_per_page = 50
    show_full_result_count = False
    actions = None

    # --- who ------------------------------------------------------------------------------

    def has_module_permission(self, request):
        return may_import_in_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return may_import_in_admin(request.user)

    def has_import_permission(self, request):
        return may_import_in_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _require_importer(self, request):
        if not may_import_in_admin(request.user):
            raise Http404

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    # --- the list -----------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        self._require_importer(request)
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            records.access_log_write(
                request,
                AuditEvent.Action.LIST,
                self.model.category,
                count=len(changelist.result_list),
                # Nothing of the query string: the list has no search, and a parameter could hold a name.
                detail=search_detail(
                    heading="后台列表", results=changelist.result_count, page=changelist.page_num
                ),
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A record is read on its own page of the site (scoped, masked and logged there)."""
        self._require_importer(request)
        if not str(object_id).isdigit():
            raise Http404
        return redirect("record_detail", kind=RECORD_PAGES[self.model.category], pk=int(object_id))

    def history_view(self, request, object_id, extra_context=None):
        """A record's history is read on its own page of the site (scoped, masked and logged)."""
        self._require_importer(request)
        if not str(object_id).isdigit():
            raise Http404
        return redirect("record_history", kind=RECORD_PAGES[self.model.category], pk=int(object_id))

    # --- the import: upload → preview → confirm -----------------------------------------------

    def import_action(self, request, **kwargs):
        """Upload and preview: counts and every error (row, column, message); nothing written."""
        self._require_importer(request)
        form = RosterUploadForm(request.POST or None, request.FILES or None)
        context = {}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            content = upload.read()
            try:
                result = self._run(request, content, commit=False)
            except RosterFileError as exc:
                form.add_error("import_file", str(exc))
            else:
                context = self._result_context(result, upload.name)
                if result.count(Verdict.NEW) + result.count(Verdict.UPDATED):
                    token = self._stash(request, content, upload.name)
                    context["confirm_form"] = RosterConfirmForm(initial={"token": token})
        return self._render(request, form=form, **context)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Confirm: the stashed file again through the pipeline, committed in one transaction."""
        self._require_importer(request)
        form = RosterConfirmForm(request.POST)
        stash = self._unstash(request, form.cleaned_data["token"]) if form.is_valid() else None
        if stash is None:
            messages.error(request, EXPIRED)
            return redirect(self._url("import"))
        storage, content, name = stash
        try:
            result = self._run(request, content, commit=True, skip_invalid=form.cleaned_data["skip_invalid"])
        except RosterFileError as exc:
            messages.error(request, str(exc))
            return redirect(self._url("import"))
        if not result.committed:
            context = self._result_context(result, name)
            context["refused"] = True
            if result.count(Verdict.NEW) + result.count(Verdict.UPDATED):
                context["confirm_form"] = RosterConfirmForm(initial={"token": form.cleaned_data["token"]})
            return self._render(request, form=RosterUploadForm(), **context)
        storage.remove()
        summary = result.summary()
        skipped = f"，跳过有错误的 {summary['invalid']} 行" if summary["invalid"] else ""
        messages.success(
            request,
            f"已导入“{name}”：新增 {summary['created']} 人，更新 {summary['updated']} 人，"
            f"无变化 {summary['unchanged']} 人{skipped}。",
        )
        return redirect(self._url("changelist"))

    def _run(self, request, content, **options):
        importer = IMPORTERS.get(self.model.category)
        if importer is None:
            raise RosterFileError(f"暂不支持导入“{self.model._meta.verbose_name}”花名册。")
        return importer(content, scope=ImportScope.for_user(request.user), **options)

    def _result_context(self, result, name):
        summary = result.summary()
        return {"file_name": name, "summary": summary, "errors": summary["errors"]}

    def _render(self, request, **context):
        context.update(
            self.admin_site.each_context(request),
            title=f"导入{self.model._meta.verbose_name}花名册",
            opts=self.model._meta,
            process_url=self._url("process_import"),
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def _url(self, name):
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", current_app=self.admin_site.name)

    # --- the file between preview and confirmation --------------------------------------------
    # import-export's temporary storage (a private temporary file by default) holds the bytes;
    # the confirm form carries only a signed token naming the file, its digest, the importer and
    # the register, so nobody confirms another person's upload or a file changed in between.

    def _storage(self, name=None):
        return self.get_tmp_storage_class()(name=name, read_mode="rb", **self.get_tmp_storage_class_kwargs())

    def _stash(self, request, content, name):
        storage = self._storage()
        storage.save(content)
        return signing.dumps(
            {
                "file": os.path.basename(storage.name),
                "sha256": hashlib.sha256(content).hexdigest(),
                "user": request.user.pk,
                "model": self.model._meta.label_lower,
                "name": name,
            },
            salt=CONFIRM_SALT,
        )

    def _unstash(self, request, token):
        """(storage, content, original file name) of a token signed for this user and register."""
        try:
            data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_SECONDS)
        except signing.BadSignature:
            return None
        if (data.get("user"), data.get("model")) != (request.user.pk, self.model._meta.label_lower):
            return None
        storage = self._storage(name=os.path.basename(data["file"]))
        try:
            content = storage.read()
        except OSError:
            return None
        if content is None or hashlib.sha256(content).hexdigest() != data["sha256"]:
            return None
        return storage, content, data["name"]


@admin.register(Child)
class ChildAdmin(RecordImportAdmin):
    pass


@admin.register(Woman)
class WomanAdmin(RecordImportAdmin):
    pass


@admin.register(Elder)
class ElderAdmin(RecordImportAdmin):
    pass
