"""A filtered list of records as an xlsx workbook (issue 5): what the list page shows, every field.

- openpyxl in write-only mode, rows streamed from the database and the workbook written to a
  temporary file: memory stays flat however many rows (bench figure in the final report);
- a header of the fields' Chinese labels, in the detail page's order; choices as labels; the
  village with its county and township names; status and exit reason;
- ID numbers, phone numbers and codes as text cells (number format ``@``), so Excel neither
  rounds an 18-digit ID nor drops a leading zero;
- masked for a member-unit liaison by ``records.mask_personal``, the one rule of what they see;
- formula injection escaped: a string cell starting with ``= + - @`` or a tab or carriage
  return is prefixed with a single quote, so no spreadsheet evaluates it.
"""

import tempfile
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from audit import export as audit_export
from registry.choices import Category
from registry.codes import ancestor_code
from registry.models import Region, RegionLevel
from registry.records import display_value, mask_personal

XLSX = audit_export.XLSX
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
# Rows fetched from the database at a time.
CHUNK_SIZE = 2000

# Place columns first, then the detail page's fields (without the village), then these.
PLACE_COLUMNS = ("县（区）", "乡镇（街道）", "村（社区）", "村代码")
STATUS_FIELDS = ("status", "exit_reason", "exit_date", "exit_note")
CHILD_EXTRA_FIELDS = ("left_behind_type", "is_high_risk", "risk_flags")


def escape_formula(text):
    """``text`` as a spreadsheet shows it, never evaluates it: a leading ``= + - @ \\t \\r`` is
    prefixed with a single quote; characters that XML cannot hold are dropped."""
    return audit_export.safe(ILLEGAL_CHARACTERS_RE.sub("", text))


def is_text_field(name):
    """ID numbers, phone numbers and codes: text cells, whatever digits they hold."""
    return name.endswith(("id_number", "phone", "code"))


def export_fields(model, fieldsets):
    """The field names of a record's export, in order (the village spelled out as place columns)."""
    names = [name for _, fields in fieldsets for name in fields if name != "village"]
    if model.category == Category.CHILD:
        names += [name for name in CHILD_EXTRA_FIELDS if name not in names]
    return names + [name for name in STATUS_FIELDS if name not in names]


def place_names(prefixes):
    """County and township names by 12-digit code for the city (or cities) of the scope
    ``prefixes``: one query, about a hundred rows a city."""
    cities = {prefix[:4] for prefix in prefixes}
    return dict(
        Region.objects.filter(level__in=(RegionLevel.COUNTY, RegionLevel.TOWNSHIP))
        .in_prefixes(cities)
        .values_list("code", "name")
    )


@dataclass
class Export:
    """A written workbook: the open temporary file (at its start) and how many records it holds."""

    file: object
    rows: int


class _Writer:
    def __init__(self, model, fieldsets, *, masked, names):
        self.model, self.masked, self.names = model, masked, names
        self.fields = [model._meta.get_field(name) for name in export_fields(model, fieldsets)]
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=model._meta.verbose_name_plural)

    def header(self):
        bold = Font(bold=True)
        cells = []
        for label in [*PLACE_COLUMNS, *(field.verbose_name for field in self.fields)]:
            cell = WriteOnlyCell(self.sheet, value=label)
            cell.font = bold
            cells.append(cell)
        self.sheet.append(cells)

    def _cell(self, value, *, text=False):
        if isinstance(value, str):
            value = escape_formula(value)
        if not (text or isinstance(value, date)):
            return value
        cell = WriteOnlyCell(self.sheet, value=value)
        cell.number_format = TEXT_FORMAT if text else DATE_FORMAT
        return cell

    def _value(self, record, field):
        name = field.name
        value = getattr(record, name)
        if self.masked and value:
            masked = mask_personal(name, value)
            if masked is not value:
                return masked
        return display_value(field, value)

    def row(self, record):
        code = record.village_code
        self.sheet.append(
            [
                self._cell(self.names.get(ancestor_code(code, "county"), "")),
                self._cell(self.names.get(ancestor_code(code, "township"), "")),
                self._cell(record.village.name),
                self._cell(code, text=True),
                *(
                    self._cell(self._value(record, field), text=is_text_field(field.name))
                    for field in self.fields
                ),
            ]
        )


def export_records(records, *, model, fieldsets, masked, names):
    """Write ``records`` (an iterable of ``model`` instances with their village) to a new xlsx.

    ``fieldsets``: the detail page's (title, field names); ``masked``: a liaison's export;
    ``names``: county and township names by code (``place_names``). Returns an ``Export`` whose
    temporary file the caller streams and closes (it is deleted on close).
    """
    writer = _Writer(model, fieldsets, masked=masked, names=names)
    writer.header()
    count = 0
    for record in records:
        writer.row(record)
        count += 1
    stream = tempfile.TemporaryFile(suffix=".xlsx")
    writer.workbook.save(stream)
    stream.seek(0)
    return Export(file=stream, rows=count)


def export_queryset(queryset, *, fieldsets, masked, prefixes):
    """``export_records`` over a scoped, filtered queryset, fetched in chunks."""
    return export_records(
        queryset.select_related("village").iterator(chunk_size=CHUNK_SIZE),
        model=queryset.model,
        fieldsets=fieldsets,
        masked=masked,
        names=place_names(prefixes),
    )


def export_filename(model, on=None):
    """留守儿童名单_2026-11-28.xlsx"""
    return f"{model._meta.verbose_name}名单_{(on or timezone.localdate()):%Y-%m-%d}.xlsx"
