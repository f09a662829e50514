"""One pipeline for every door onto the import (command, upload page, background job, admin):
read, find the header, normalise, validate each row with the entry form, preview, commit in
one transaction — for children, women and elders alike, each described by a :class:`KindSpec`.

A row is judged by the kind's entry form (``ChildForm``, ``WomanForm``, ``ElderForm``) exactly
as a typed entry would be, so every rule exists once. An ID number already registered inside
the importer's scope makes the row an update of that record (the record is the form's
instance); outside it, the form's own duplicate check refuses the row and names where the
person is registered.

Rows are read, judged and (in a commit) written :data:`CHUNK_ROWS` at a time, so a file of
100,000 rows needs no more memory than its verdicts and errors.

``IMPORTERS[kind](content, *, scope, commit=False, skip_invalid=False, progress=None)``:
``progress(done, total)`` is called after every chunk and once at the end, ``done`` counting
the sheet's rows under the header as they are judged (a commit's as they are written), of
``total`` as the file declares them; at the end ``total`` is what was done.
"""

import contextlib
import gc
import hashlib
import threading
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.base import ModelState
from django.forms.models import model_to_dict

from accounts import policy
from audit.models import AuditEvent
from audit.services import audit_record
from registry import bulk, records, rules
from registry.choices import Category, GuardianAssessment, GuardianshipType, HistorySource, RecordStatus
from registry.codes import ancestor_code
from registry.forms import ChildForm, ElderForm, WomanForm
from registry.models import Child, Elder, IdentityClaim, Region, RegionLevel, Woman
from registry.records import reference_date
from registry.roster import normalize
from registry.roster.headers import (
    CHILD_COLUMNS,
    CHILD_EXTRA_COLUMNS,
    ELDER_COLUMNS,
    HEADER_SEARCH_ROWS,
    PERSON_EXTRA_COLUMNS,
    WOMAN_COLUMNS,
    find_header,
)
from registry.roster.normalize import CellError
from registry.roster.reader import RosterFileError, read_roster
from registry.roster.rebound import rebound

NO_HEADER = "没有找到表头：请确认表头行包含“姓名”“身份证号”“村(社区)”等列名（可使用导入模板）。"
NOT_ALLOWED = "该账号无权导入花名册：只有县级民政和市民政局的账号可以导入。"
MISSING_COLUMN = "缺少“{column}”列"
WHOLE_ROW = "整行"
CHUNK_ROWS = 2_000  # rows judged (and, in a commit, written) together: memory stays flat
KEEP_ROWS = 100_000  # a preview of at most this many rows keeps their data for its commit
PACK_ROWS = 2_000  # past this many, a preview keeps a new row's record packed (_Packer)
FULL_ROWS = 20_000  # rows kept as judged, at most: a preview's past PACK_ROWS, a commit's written
MEMO_VALUES = 2_000  # distinct cells of a column whose cleaned value is remembered


class Verdict:
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVALID = "invalid"


@dataclass(frozen=True)
class ImportScope:
    """Where an import may put and update records: region-code prefixes, and who imports.

    ``user`` None is the whole registry (the management command without ``--user``).
    """

    user: object
    prefixes: tuple

    @classmethod
    def for_user(cls, user):
        if user is None:
            return cls(user=None, prefixes=("",))
        prefixes = policy.import_prefixes(user)
        if not prefixes:
            raise RosterFileError(NOT_ALLOWED)
        return cls(user=user, prefixes=tuple(prefixes))

    def villages(self):
        return Region.objects.at_level(RegionLevel.VILLAGE).in_prefixes(self.prefixes)


@dataclass(slots=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(slots=True)
class RowResult:
    row: int
    verdict: str = Verdict.NEW
    errors: list = field(default_factory=list)
    data: dict = None
    record: object = None  # the record it updates; a new row's unsaved record, saved by the commit
    values: dict = field(default_factory=dict)  # canonical column → the raw cell (invalid rows only)
    packed: tuple = None  # a big preview's new row: its record packed (_Packer), data and record None


@dataclass
class ImportResult:
    rows: list = field(default_factory=list)
    committed: bool = False
    refused: bool = False
    kind: str = Category.CHILD
    columns: list = field(default_factory=list)  # [(canonical column, header text as found)]
    tracker: object = field(default=None, repr=False)
    file_ids: list = field(default_factory=list, repr=False)  # the file's readable ID numbers
    snapshot: tuple = field(default=None, repr=False)  # what the verdicts depend on (_snapshot)
    packer: object = field(default=None, repr=False)  # a big preview's _Packer

    def count(self, verdict):
        return sum(1 for row in self.rows if row.verdict == verdict)

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]

    @property
    def invalid_rows(self):
        return [row for row in self.rows if row.verdict == Verdict.INVALID]

    def summary(self):
        """The JSON contract of ``import_roster --json`` (issue 5)."""
        invalid = self.count(Verdict.INVALID)
        created, updated = self.count(Verdict.NEW), self.count(Verdict.UPDATED)
        if self.refused:
            created = updated = 0
        return {
            "rows": len(self.rows),
            "valid": len(self.rows) - invalid,
            "invalid": invalid,
            "created": created,
            "updated": updated,
            "unchanged": self.count(Verdict.UNCHANGED),
            "errors": [error.as_dict() for error in self.errors],
        }


# --- the kinds -----------------------------------------------------------------------------

# Columns every kind shares: canonical column → (form field, cleaner). Place columns are
# resolved separately (:class:`VillageIndex`).
PERSON_FIELDS = {
    "姓名": ("name", normalize.name),
    "性别": ("sex", normalize.choice),
    "身份证号": ("id_number", normalize.id_number),
    "出生日期": ("birth_date", normalize.date),
    "民族": ("ethnicity", normalize.name),
    "健康状况": ("health", normalize.choice),
    "备注": ("note", normalize.text),
    "户籍所在地": ("hukou_address", normalize.text),
    "现居住地": ("current_address", normalize.text),
    "残疾类别": ("disability_type", normalize.text),
    "残疾等级": ("disability_grade", normalize.name),
    "所患疾病": ("illness", normalize.text),
    "主要需求": ("needs", normalize.text),
}
CHILD_FIELDS = {
    **PERSON_FIELDS,
    "就读学校": ("school_name", normalize.text),
    "年级": ("grade", normalize.name),
    "监护类型": ("guardianship_type", normalize.choice),
    "监护人姓名": ("guardian_name", normalize.name),
    "与儿童关系": ("guardian_relation", normalize.choice),
    "监护人电话": ("guardian_phone", normalize.phone),
    "父亲姓名": ("father_name", normalize.name),
    "父亲状况": ("father_status", normalize.choice),
    "父亲务工地": ("father_work_place", normalize.text),
    "母亲姓名": ("mother_name", normalize.name),
    "母亲状况": ("mother_status", normalize.choice),
    "母亲务工地": ("mother_work_place", normalize.text),
    "就学情况": ("schooling", normalize.choice),
    "是否寄宿": ("boarding", normalize.boolean),
    "监护评估": ("guardian_assessment", normalize.choice),
    "监护人身份证号": ("guardian_id_number", normalize.text),
    "父亲身份证号": ("father_id_number", normalize.text),
    "父亲电话": ("father_phone", normalize.phone),
    "母亲身份证号": ("mother_id_number", normalize.text),
    "母亲电话": ("mother_phone", normalize.phone),
}
WOMAN_FIELDS = {
    **PERSON_FIELDS,
    "联系电话": ("phone", normalize.phone),
    "丈夫姓名": ("husband_name", normalize.name),
    "丈夫务工地": ("husband_work_place", normalize.text),
    "丈夫外出月数": ("husband_months_away", normalize.count),
    "丈夫电话": ("husband_phone", normalize.phone),
    "子女数": ("children_count", normalize.count),
    "未成年子女数": ("minor_children_count", normalize.count),
}
ELDER_FIELDS = {
    **PERSON_FIELDS,
    "联系电话": ("phone", normalize.phone),
    "居住情况": ("living_arrangement", normalize.choice),
    "子女数": ("children_count", normalize.count),
    "外出子女数": ("children_away_count", normalize.count),
    "子女外出最短月数": ("min_months_away", normalize.count),
    "照料人姓名": ("caregiver_name", normalize.name),
    "照料人电话": ("caregiver_phone", normalize.phone),
    "收入来源": ("income_sources", normalize.text),
}
PLACE_COLUMNS = ("县(区)", "乡镇(街道)", "村(社区)", "村代码")
REQUIRED_COLUMNS = ("姓名", "身份证号")
# Cleaners that are told the column's name (for their messages).
_LABELLED = (normalize.boolean, normalize.date, normalize.count)


def _prepare_child(data, cleaned, record):
    """What a child's roster leaves implicit: 就学情况 from 年级/学校, and a new record's 监护评估:
    无人监护 with no guardian, else 待评估 (the canonical roster has no such column; nobody has
    assessed the child, and the list's 监护评估 filter finds them for the village to do so)."""
    if not cleaned.get("就学情况"):
        inferred = normalize.schooling_from(cleaned.get("年级"), cleaned.get("就读学校"))
        if inferred:
            data["schooling"] = inferred
    if record is None and "监护评估" not in cleaned:
        none = data.get("guardianship_type") == GuardianshipType.NONE
        data["guardian_assessment"] = GuardianAssessment.NONE if none else GuardianAssessment.PENDING


@dataclass(frozen=True)
class KindSpec:
    """What differs between the rosters of children, women and elders."""

    category: str
    model: type
    form: type
    columns: list  # the canonical columns of its header (template order first)
    fields: dict  # canonical column → (form field, cleaner)
    prepare: object = None  # (data, cleaned, record) → fills what the roster leaves implicit

    @property
    def header_columns(self):
        return [c for c in self.columns if c in self.fields or c in PLACE_COLUMNS or c == "序号"]

    def max_length(self, field_name):
        model_field = self.model._meta.get_field(field_name)
        if isinstance(model_field, models.CharField) and not model_field.choices:
            return model_field.max_length
        return None


SPECS = {
    Category.CHILD: KindSpec(
        Category.CHILD,
        Child,
        ChildForm,
        [*CHILD_COLUMNS, *CHILD_EXTRA_COLUMNS, *PERSON_EXTRA_COLUMNS[2:]],
        CHILD_FIELDS,
        _prepare_child,
    ),
    Category.WOMAN: KindSpec(
        Category.WOMAN, Woman, WomanForm, [*WOMAN_COLUMNS, *PERSON_EXTRA_COLUMNS], WOMAN_FIELDS
    ),
    Category.ELDER: KindSpec(
        Category.ELDER, Elder, ElderForm, [*ELDER_COLUMNS, *PERSON_EXTRA_COLUMNS], ELDER_FIELDS
    ),
}


def _clean_cell(spec, column, value):
    """The cell's value for the form, or CellError: control characters and over-long text are
    refused here, per field, before the form sees them. A place column (县(区) … 村代码): the
    name, for VillageIndex.resolve."""
    normalize.check_control(value, column)
    if column in PLACE_COLUMNS:
        return normalize.name(value)
    field_name, cleaner = spec.fields[column]
    if cleaner is normalize.choice:
        cleaned = cleaner(field_name, value, column)
    elif cleaner in _LABELLED:
        cleaned = cleaner(value, column)
    else:
        cleaned = cleaner(value)
    if isinstance(cleaned, str):
        measured = cleaned
        if field_name in spec.form.other_id_fields:
            measured = rules.normalize_id_number(cleaned)
        normalize.check_length(measured, spec.max_length(field_name), column)
    return cleaned


class VillageIndex:
    """The villages of a scope, found by code or by county / township / village names (two queries)."""

    def __init__(self, scope):
        self.by_code = {v.code: v for v in scope.villages()}
        above = {ancestor_code(code, level) for code in self.by_code for level in ("county", "township")}
        names = dict(Region.objects.filter(code__in=above).values_list("code", "name"))
        self.places = [
            (
                names.get(ancestor_code(code, "county"), ""),
                names.get(ancestor_code(code, "township"), ""),
                village,
            )
            for code, village in self.by_code.items()
        ]

    @staticmethod
    def _same(wanted, name, suffixes):
        if not wanted:
            return True
        if wanted == name:
            return True
        return any(wanted + s == name or name + s == wanted for s in suffixes)

    def resolve(self, county, township, village, code):
        """(village, error message)."""
        if code:
            found = self.by_code.get(code)
            if found is None:
                return None, f"村代码“{code}”不存在或不在您可导入的范围内"
            return found, None
        if not village:
            return None, "请填写村(社区)名称或村代码"
        matches = [
            v
            for county_name, township_name, v in self.places
            if self._same(village, v.name, ("村", "社区", "村委会", "居委会"))
            and self._same(township, township_name, ("镇", "乡", "街道", "街道办事处"))
            and self._same(county, county_name, ("县", "区", "市"))
        ]
        place = "".join(p for p in (county, township, village) if p)
        if not matches:
            return None, f"在您可导入的范围内找不到“{place}”，请核对县、乡镇、村名称或填写村代码"
        if len(matches) > 1:
            names = "、".join(f"{v.name}（{v.code}）" for v in matches[:5])
            return None, f"“{place}”有多个同名的村：{names}，请填写乡镇名称或村代码"
        return matches[0], None


def _each_in(queryset, field, values):
    """The rows of ``queryset`` whose ``field`` is one of ``values`` (see bulk.filter_in)."""
    yield from bulk.filter_in(queryset, field, list(dict.fromkeys(values)))


def _parse_rows(sheet, header):
    """(row_number, {column: raw cell}) for each data row of ``sheet`` under ``header``."""
    columns = list(header.columns.items())
    for index, (row_number, cells) in enumerate(sheet.rows()):
        if index <= header.index or normalize.is_skipped(cells):
            continue
        width = len(cells)
        yield row_number, {column: (cells[j] if j < width else None) for j, column in columns}


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _find_sheet_header(sheets, columns):
    for sheet in sheets:
        header = find_header(sheet.head(HEADER_SEARCH_ROWS), columns)
        if header and all(c in header.columns.values() for c in REQUIRED_COLUMNS):
            return sheet, header
    raise RosterFileError(NO_HEADER)


class _Progress:
    """Calls ``progress(done, total)`` as rows are done; ``total`` is the sheet's rows under the
    header as the file declares them (blank and 合计 rows among them), raised if it was short."""

    def __init__(self, callback, total):
        self.callback, self.total, self.done = callback, total, 0

    def step(self, rows):
        self.done += rows
        self.total = max(self.total, self.done)
        if self.callback:
            self.callback(self.done, self.total)

    def finish(self):
        self.total = self.done
        if self.callback:
            self.callback(self.done, self.total)


class _Judge:
    """Judges the rows of one file for one scope, a chunk at a time: every chunk asks the
    database twice (the in-scope records and the ID claims of its numbers), then each row goes
    through the kind's entry form, one form rebound for every row (registry/roster/rebound.py).

    ``seen``: the records and claims the verdicts so far rest on (for :func:`_snapshot`), kept
    while ``remember`` holds."""

    def __init__(self, spec, scope, header):
        self.spec, self.scope = spec, scope
        present = set(header.columns.values())
        self.on = reference_date()
        self.villages = VillageIndex(scope)
        self.village_choices = {v.pk: v for v in self.villages.by_code.values()}
        self.model_fields = [name for name in spec.form.base_fields if name != "version"]
        self.labels = {name: spec.form.base_fields[name].label for name in self.model_fields}
        defaults = [
            f for f in (spec.model._meta.get_field(name) for name in self.model_fields) if f.has_default()
        ]
        # A new row's data starts from the model's defaults: the constant ones copied, the
        # computed ones (a list) made anew for each row.
        self.constant_defaults = {f.name: f.get_default() for f in defaults if not callable(f.default)}
        self.computed_defaults = [f for f in defaults if callable(f.default)]
        self.targets = {
            column: (field_name, spec.model._meta.get_field(field_name))
            for column, (field_name, _) in spec.fields.items()
        }
        self.column_of = {
            field_name: column for column, (field_name, _) in spec.fields.items() if column in present
        }
        self.column_of["village"] = "村代码" if "村代码" in present else "村(社区)"
        self.first_row_of = {}
        self.cells = {}  # column → {(type, raw cell): (ok, value or message)}
        self.form = None
        self.remember = True
        self.seen_ids, self.seen_records, self.seen_claims = [], set(), set()

    def chunks(self, sheet, header):
        """[RowResult] for each chunk of :data:`CHUNK_ROWS` data rows of ``sheet``; once the
        caller has it, what is alive is spared the collector's full passes (_collector_spared)."""
        with _collector_spared():
            for chunk in _chunks(_parse_rows(sheet, header), CHUNK_ROWS):
                yield self.chunk(chunk)
                gc.freeze()

    def chunk(self, parsed):
        # Each row's ID number cell, cleaned once: for the queries, and for the row's judging.
        id_cells = [
            self._clean_cell("身份证号", values["身份证号"]) if "身份证号" in values else None
            for _, values in parsed
        ]
        ids = [number for ok, number in filter(None, id_cells) if ok]
        records_in_scope = self.spec.model.objects.in_prefixes(self.scope.prefixes).select_related("village")
        existing = {r.id_number: r for r in _each_in(records_in_scope, "id_number", ids)}
        claimed = set(_each_in(IdentityClaim.objects.values_list("id_number", flat=True), "id_number", ids))
        if self.remember:
            self.seen_ids.extend(ids)
            self.seen_records.update(_record_state(r) for r in existing.values())
            self.seen_claims.update(claimed)
        if self.form is None:
            self.form = rebound(self.spec.form)(
                {}, user=self.scope.user, villages=self.village_choices, on=self.on, claimed=claimed
            )
        self.form.claimed = claimed
        return [
            self.row(row_number, values, existing, id_cell)
            for (row_number, values), id_cell in zip(parsed, id_cells, strict=True)
        ]

    def row(self, row_number, values, existing, id_cell):
        spec = self.spec
        row = RowResult(row=row_number, values=values)

        def error(column, message):
            row.errors.append(RowError(row=row_number, column=column, message=message))

        cleaned = {}
        for column, raw in values.items():
            if column in spec.fields:
                ok, value = id_cell if column == "身份证号" else self._clean_cell(column, raw)
                if ok:
                    cleaned[column] = value
                else:
                    error(column, value)
        number = cleaned.get("身份证号", "")
        if number and number in self.first_row_of:
            # Said, and the row's other problems too: a row's error lists all of them.
            error("身份证号", f"与第{self.first_row_of[number]}行的身份证号重复，同一人只能登记一次")
        elif number:
            self.first_row_of[number] = row_number

        place = {}
        for column in PLACE_COLUMNS:
            ok, value = self._clean_cell(column, values.get(column))
            if not ok:
                error(column, value)
            place[column] = value if ok else ""
        village = None
        if not any(e.column in PLACE_COLUMNS for e in row.errors):
            village, message = self.villages.resolve(
                place["县(区)"], place["乡镇(街道)"], place["村(社区)"], place["村代码"]
            )
            if message:
                error(self.column_of["village"], message)

        record = existing.get(number)
        if record is not None and record.status != RecordStatus.ACTIVE:
            error("身份证号", records.EXITED_MESSAGE)
        stored = None  # the record's values before the form sets the row's onto it
        if record is not None:
            data = model_to_dict(record, fields=self.model_fields)
            stored = {name: getattr(record, name) for name in self.model_fields}
        else:
            data = dict(self.constant_defaults)
            for f in self.computed_defaults:
                data[f.name] = f.get_default()
        for column, value in cleaned.items():
            field_name, model_field = self.targets[column]
            if value in ("", None) and model_field.has_default():
                value = model_field.get_default()
            data[field_name] = value
        if spec.prepare:
            spec.prepare(data, cleaned, record)
        data["village"] = village.pk if village else None
        data["version"] = record.version if record else None

        form = self.form.rebind(data, record)
        if not form.is_valid():
            self._form_errors(form, row, error)
        if row.errors:
            row.verdict = Verdict.INVALID
            return row
        # A valid row's raw cells are not needed again (only invalid rows go back as xlsx):
        # dropped, so that a big file's preview holds a row's data once. A new row keeps the
        # unsaved record the form built from its data, for the write.
        row.data, row.record, row.values = form.take_record_data(), record or form.instance, None
        if record is None:
            row.verdict = Verdict.NEW
        elif all(stored[name] == value for name, value in row.data.items()):
            row.verdict = Verdict.UNCHANGED
        else:
            row.verdict = Verdict.UPDATED
        return row

    def _clean_cell(self, column, raw):
        """(True, the cell's value) or (False, why not): :func:`_clean_cell`, remembered for the
        first MEMO_VALUES distinct cells of each column (most columns repeat a few values)."""
        memo = self.cells.get(column)
        if memo is None:
            memo = self.cells[column] = {}
        key = (raw.__class__, raw)  # True == 1 == 1.0, but they are different cells
        try:
            found = memo.get(key)
        except TypeError:  # an unhashable cell (no reader gives one today): not remembered
            key, found = None, None
        if found is None:
            try:
                found = (True, _clean_cell(self.spec, column, raw))  # a place column too
            except CellError as exc:
                found = (False, str(exc))
            if key is not None and len(memo) < MEMO_VALUES:
                memo[key] = found
        return found

    def _form_errors(self, form, row, error):
        reported = {e.column for e in row.errors}
        for field_name, messages in form.errors.items():
            column = (
                WHOLE_ROW
                if field_name == "__all__"
                else self.column_of.get(field_name, self.labels[field_name])
            )
            if column in reported:
                continue
            for message in messages:
                if (
                    field_name in self.labels
                    and field_name not in self.column_of
                    and message == "这个字段是必填项。"
                ):
                    message = MISSING_COLUMN.format(column=self.labels[field_name]) + "，请补充该列"
                error(column, message)

    def snapshot(self):
        return _snapshot(self.seen_records, self.seen_claims, self.villages, self.on)


# --- the rows kept so far, spared the collector's full passes -----------------------------------
#
# A preview keeps every row it judged (its verdict, a new row's record packed): the collector's
# full passes, each over everything alive, went over them again and again as the file went on —
# bench/roster_import.py, 2026-12-05: 2.5 s of a 20.7 s preview of 100,000 rows in 14 full passes,
# 0.3 s of 2.8 s at 15,362 rows. After each chunk what is alive is frozen (gc.freeze: the
# collector leaves it be, it still runs on everything made after); when the last file being
# judged in the process is done, it is unfrozen, and the next full pass sees it again. The
# collector is never off (issue 13 item 1 took away a pause of it): garbage without cycles is
# freed at once as ever, a cycle already made when a chunk ended waits for the unfreeze. With
# it: 100,000 rows previewed in 18.4 s, the collector 0.7 s; 15,362 in 2.5 s.

_spared_lock = threading.Lock()
_spared_by = 0  # files being judged in this process


@contextlib.contextmanager
def _collector_spared():
    global _spared_by
    with _spared_lock:
        _spared_by += 1
    try:
        yield
    finally:
        with _spared_lock:
            _spared_by -= 1
            if _spared_by == 0:
                gc.unfreeze()


def _start(kind, content, scope, progress):
    """The file's sheet and header, a judge for them, an empty result and a progress counter."""
    spec = SPECS[kind]
    sheet, header = _find_sheet_header(read_roster(content), spec.header_columns)
    result = ImportResult(
        kind=kind, columns=[(column, header.labels[j]) for j, column in sorted(header.columns.items())]
    )
    result.tracker = _Progress(progress, max(sheet.height - header.index - 1, 0))
    return sheet, header, _Judge(spec, scope, header), result


def preview(kind, content, scope, *, progress=None):
    """Judge every row of the ``kind`` roster in ``content`` without writing anything.

    A file of at most :data:`KEEP_ROWS` rows keeps every valid row's data, for a commit to reuse
    (:func:`_preview_reuse`) — past :data:`PACK_ROWS` rows, a new row's record packed; a bigger
    one keeps only verdicts and errors: memory stays flat."""
    sheet, header, judge, result = _start(kind, content, scope, progress)
    result.packer = _Packer(judge.spec.model)
    for rows in judge.chunks(sheet, header):
        result.rows.extend(rows)
        result.tracker.step(len(rows))
        if not _keep_within(result, rows) and judge.remember:
            judge.remember = False
            judge.seen_ids = judge.seen_records = judge.seen_claims = None
    result.tracker.finish()
    if judge.remember:
        result.file_ids, result.snapshot = judge.seen_ids, judge.snapshot()
    return result


def _keep_within(result, rows):
    """Whether the preview ``result`` (``rows`` just added) still keeps every valid row's data
    and record: up to :data:`PACK_ROWS` rows as judged, then up to :data:`KEEP_ROWS` a new row's
    record packed and an unchanged row's nothing (its commit writes nothing of it); past that,
    or past FULL_ROWS rows it cannot pack (updated ones), none — only verdicts and errors."""
    packer, total = result.packer, len(result.rows)
    if not packer.keeping:
        _drop_rows(rows)
        return False
    if total <= KEEP_ROWS and (
        total <= PACK_ROWS or packer.pack_all(result.rows[max(PACK_ROWS, total - len(rows)) :])
    ):
        return True
    packer.keeping = False
    _drop_rows(result.rows)
    return False


def _keep_written(result, rows):
    """A commit that judged the file itself keeps the data and records of the first
    FULL_ROWS rows (at most KEEP_ROWS) it wrote, none past them: memory stays flat."""
    limit = min(KEEP_ROWS, FULL_ROWS)
    if len(result.rows) > limit:
        _drop_rows(result.rows if len(result.rows) - len(rows) <= limit else rows)


def _drop_rows(rows):
    for row in rows:
        row.data = row.record = row.packed = None


class _Packer:
    """A big preview's new rows kept for its commit in a third of the memory (issue 14 item 7):
    the unsaved record's attribute values as one tuple, not a dict of them, and no copy of its
    cleaned data (the commit writes the record; bench/roster_import.py: 100,000 rows kept judged
    would take about 300 MB — 3 KB a row — packed about 1 KB). Unpacked a chunk at a time by
    the commit, as the form left it."""

    def __init__(self, model):
        self.model = model
        self.keys = None  # the attribute names of a packed record, in order
        self.unpacked = 0  # rows kept as judged past PACK_ROWS (updated ones), at most FULL_ROWS
        self.keeping = True
        self.states = {}  # a record's state (its village cached) → one tuple for the rows that share it

    def pack_all(self, rows):
        """Pack what can be of ``rows``; False once more than FULL_ROWS rows could not be."""
        for row in rows:
            if row.record is None or row.packed is not None:
                continue
            if row.verdict == Verdict.UNCHANGED:
                row.data = row.record = None
            elif row.verdict == Verdict.NEW and self._pack(row):
                row.data = row.record = None
            else:
                self.unpacked += 1
        return self.unpacked <= FULL_ROWS

    def _pack(self, row):
        attributes = row.record.__dict__
        state = attributes.get("_state")
        if state is None or set(state.__dict__) - {"db", "adding", "fields_cache"}:
            return False  # not the form's new record as _Packer.unpack rebuilds one
        keys = tuple(attributes)
        if self.keys is None:
            self.keys = keys
        if keys != self.keys:
            return False
        state = tuple(
            (name, tuple(value.items()) if name == "fields_cache" else value)
            for name, value in state.__dict__.items()
        )
        state = self.states.setdefault(state, state)
        row.packed = tuple(
            state if key == "_state" else _EMPTY_LIST if value.__class__ is list and not value else value
            for key, value in attributes.items()
        )
        row.errors = ()  # none (a valid row), and no list kept for them; unpack gives it one
        return True

    def unpack(self, row):
        """``row``'s record as it was packed (an unsaved instance, its related objects cached)."""
        values = zip(self.keys, row.packed, strict=True)
        attributes = {key: [] if value is _EMPTY_LIST else value for key, value in values}
        state = ModelState()
        for name, value in attributes["_state"]:
            setattr(state, name, dict(value) if name == "fields_cache" else value)
        attributes["_state"] = state
        record = self.model.__new__(self.model)
        record.__dict__ = attributes
        row.record, row.packed, row.errors = record, None, []
        return record


_EMPTY_LIST = object()  # an empty list in a packed record (each record gets its own again)


# --- a preview's verdicts reused by its commit -------------------------------------------------
#
# Worth its weight (measured 2026-12-04 on PostgreSQL, 15,362 rows, medians of three in one
# process): preview 1.96 s, then commit 2.13 s reusing it against 5.05 s judging again — 4.1 s
# for the pair instead of 7.0 s. The background worker previews and commits in one process, so
# a big file's confirmation is written without being judged twice.
#
# An officer previews a file, then commits it. Judging every row again on commit would double
# the work; instead the commit reuses the verdicts of the last preview made in this process if
# it is the same file, kind and importer, the preview kept its rows' data (KEEP_ROWS), and
# nothing the verdicts depend on has changed since: the reference date, the ID claims and the
# in-scope records (with their versions and status) of the file's ID numbers, and the villages
# (with names) of the scope. Checked inside the commit's transaction; on any difference, or in
# another process, the file is judged anew, chunk by chunk, each chunk written once judged.

_last_preview = None  # (key, ImportResult): one per process, taken by the next commit


def _key(kind, content, scope):
    return (kind, hashlib.sha256(content).hexdigest(), getattr(scope.user, "pk", None), scope.prefixes)


def _record_state(record):
    return (record.id_number, record.pk, record.version, record.status, record.village_id)


def _snapshot(record_states, claimed, villages, on):
    """What a file's verdicts depend on in the database, comparable with ==."""
    return (
        on,
        frozenset(claimed),
        frozenset(record_states),
        frozenset((county, township, v.pk, v.code, v.name) for county, township, v in villages.places),
    )


def _preview_keep(kind, content, scope, result):
    global _last_preview
    _last_preview = (_key(kind, content, scope), result) if result.snapshot is not None else None


def _preview_reuse(kind, content, scope):
    """The last preview's result for this commit if still exact (see above), else None."""
    global _last_preview
    kept, _last_preview = _last_preview, None
    if kept is None or kept[0] != _key(kind, content, scope):
        return None
    result = kept[1]
    ids = result.file_ids
    records_in_scope = SPECS[kind].model.objects.in_prefixes(scope.prefixes)
    existing = [_record_state(r) for r in _each_in(records_in_scope, "id_number", ids)]
    claimed = set(_each_in(IdentityClaim.objects.values_list("id_number", flat=True), "id_number", ids))
    if _snapshot(existing, claimed, VillageIndex(scope), reference_date()) != result.snapshot:
        return None
    return result


class _Refused(Exception):
    """Rolls back what a refused commit had written."""


def _reused_chunks(result):
    """The reused preview's rows to write: at once (held in memory already), or if it packed new
    rows (_Packer), FULL_ROWS at a time, each slice's packed records unpacked before it is
    written and let go after (as a commit that judged the file itself keeps none past
    FULL_ROWS). Not CHUNK_ROWS at a time: each write has its fixed costs (the villages' locks and
    statistics, the care levels): 50 writes of 100,000 rows took 22 s of a 48 s commit under
    cProfile, the 15,362 rows written at once 6 s."""
    if not any(row.packed is not None for row in result.rows[PACK_ROWS:]):
        yield result.rows
        return
    for start in range(0, len(result.rows), FULL_ROWS):
        rows = result.rows[start : start + FULL_ROWS]
        packed = [row for row in rows if row.packed is not None]
        for row in packed:
            result.packer.unpack(row)
        yield rows
        _drop_rows(packed)


def import_roster(kind, content, *, scope, commit=False, skip_invalid=False, progress=None):
    """Preview the ``kind`` roster in ``content``; with ``commit``, write it in one transaction.

    Side effects (with ``commit`` only): new records in bulk through
    records.record_create_many and changed ones through records.record_update, with source 导入,
    so ID claims, derived fields and history are those of a typed entry; one 导入 audit event
    (also for a refused commit). Without ``skip_invalid`` any invalid row refuses the whole
    file; a service refusal of any row rolls back everything written.
    ``progress``: see the module's docstring.
    """
    if not commit:
        result = preview(kind, content, scope, progress=progress)
        _preview_keep(kind, content, scope, result)
        return result
    model = SPECS[kind].model
    with transaction.atomic():
        result = _preview_reuse(kind, content, scope)
        fresh = result is None
        if fresh:
            sheet, header, judge, result = _start(kind, content, scope, progress)
            judge.remember = False
            chunks = judge.chunks(sheet, header)
        else:
            result.tracker = _Progress(progress, len(result.rows))
            if not skip_invalid and any(row.verdict == Verdict.INVALID for row in result.rows):
                result.refused = True
            chunks = _reused_chunks(result)
        try:
            with transaction.atomic():
                for rows in chunks:
                    if fresh:
                        result.rows.extend(rows)
                    if not (result.refused or skip_invalid) and any(
                        r.verdict == Verdict.INVALID for r in rows
                    ):
                        result.refused = True
                    if not result.refused:
                        try:
                            _write(rows, scope.user, model)
                        except ValidationError:
                            result.refused = True  # the rows to blame carry the service's message
                    if fresh:
                        _keep_written(result, rows)
                    result.tracker.step(len(rows))
                if result.refused:
                    raise _Refused
            result.committed = True
        except _Refused:
            pass  # everything written is rolled back; the remaining rows were judged only
        result.tracker.finish()
        _audit_import(kind, scope.user, result)
    return result


def _audit_import(kind, user, result):
    summary = result.summary()
    audit_record(
        user=user,
        action=AuditEvent.Action.IMPORT,
        object_type=f"registry.{SPECS[kind].model._meta.model_name}",
        object_label=f"{Category(kind).label}花名册",
        result=AuditEvent.Result.SUCCESS if result.committed else AuditEvent.Result.DENIED,
        count=summary["created"] + summary["updated"],
        detail=(
            f"共{summary['rows']}行：新增{summary['created']}，更新{summary['updated']}，"
            f"无变化{summary['unchanged']}，无效{summary['invalid']}"
            + ("" if result.committed else "；未导入")
        ),
    )


def _write(rows, user, model):
    """The new ones of ``rows`` in bulk (records.record_create_many), the changed ones one by one
    through records.record_update (each checks the record's version and lock). A refusal names
    the rows it blames and raises ValidationError: the caller rolls back."""
    new = [row for row in rows if row.verdict == Verdict.NEW]
    if new:
        try:
            created = records.record_create_many(
                model=model, user=user, records=[row.record for row in new], source=HistorySource.IMPORT
            )
        except ValidationError as exc:
            number = (getattr(exc, "params", None) or {}).get("id_number")
            blamed = next((row for row in new if row.record.id_number == number), new[0])
            blamed.verdict = Verdict.INVALID
            blamed.errors.extend(RowError(row=blamed.row, column=WHOLE_ROW, message=m) for m in exc.messages)
            raise
        for row, record in zip(new, created, strict=True):
            row.record = record
    failed = None
    for row in rows:
        if row.verdict != Verdict.UPDATED:
            continue
        try:
            row.record = records.record_update(
                record=row.record,
                user=user,
                data=row.data,
                version=row.record.version,
                source=HistorySource.IMPORT,
            )
        except ValidationError as exc:
            row.verdict = Verdict.INVALID
            for message in exc.messages:
                row.errors.append(RowError(row=row.row, column=WHOLE_ROW, message=message))
            failed = exc
    if failed is not None:
        raise failed


def preview_children(content, scope):
    return preview(Category.CHILD, content, scope)


import_children = partial(import_roster, Category.CHILD)
import_women = partial(import_roster, Category.WOMAN)
import_elders = partial(import_roster, Category.ELDER)

IMPORTERS = {Category.CHILD: import_children, Category.WOMAN: import_women, Category.ELDER: import_elders}
