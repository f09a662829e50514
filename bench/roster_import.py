"""Speed and memory of the children's roster import (issue 5 item 7): our pipeline, preview then
commit, against django-import-export's default row-by-row ``import_data`` and against the floor
(python-calamine read + PostgreSQL COPY of the same rows), all in the same run.

    .venv/bin/python bench/roster_import.py [--rows N] [--memory-rows M] [--scale-rows S] [--skip-ie]
                                            [--profile] [--profile-only] [--database-url URL] [--keep]
                                            [--quick]

It drops and recreates its own database (default liushou_bench_roster; with --keep an existing
one that already holds the regions is reused and nothing is dropped), migrates, loads the
regions of 410900 with the demo villages, and writes two real .xlsx rosters (openpyxl
write-only) with the template's 27 canonical columns: N rows (default 15,362, the 2022
campaign's total) and M rows (default 100,000), every row a valid left-behind child of a
loaded village (both parents 外出务工, aged 0–15 on the registry's reference date, every text
column filled). The files are kept in --dir and reused by a later --keep run.

Each import runs in a fresh subprocess on an empty registry (the child tables are truncated
between runs, and a CHECKPOINT writes out what the run before left), so that its peak resident
memory (ru_maxrss) is its own and its time not the previous run's:

1. ours: ``registry.roster.pipeline.IMPORTERS["child"]`` with ``ImportScope.for_user(None)``,
   dry run (preview) then commit, as an officer does;
2. django-import-export 4.4 default: a ``ModelResource`` for Child (``import_id_fields`` on
   id_number, a ForeignKeyWidget on the village code), the file loaded as a tablib Dataset,
   ``import_data(dry_run=True)`` then ``import_data(dry_run=False)``, as its admin does;
3. the floor: the file read with python-calamine and its rows COPYed into registry_child.

Targets (ratios in the same run): ours at least 10× faster than import-export's default, and
within 4× of the floor, on the N-row file; peak memory of ours at M rows under 300 MB; and a big
roster no dearer per row than a small one (issue 14 item 7): ours at M rows (preview + commit)
within 7.5× ours at S rows (default N) for the 6.5× the rows of 100,000 against 15,362 — for
other sizes the same 1.15× per row. The ratio and both peaks are printed.
With --profile, a cProfile summary (top 25 by cumulative time, top 15 by own time) of our
preview and commit of the N-row file follows, from a separate run so that the timings above are
not slowed by the profiler; --profile-only runs just that. The machine's load average is
printed before and after: on a shared machine every figure is slower, the ratios less so.
--quick (for .ci/run): 200 rows compared, 2,000 and 13,000 for the ratio of sizes (and memory),
every import must succeed (all rows valid, all written), the targets are not judged.
"""

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import _common
from _common import WORK_CITIES, People, stopwatch

CITY = "410900"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liushou_bench_roster"
DEFAULT_DIR = Path(tempfile.gettempdir()) / "liushou_bench_roster"
DEMO_ROWS = 15_362
MEMORY_ROWS = 100_000
TARGET_VS_IE = 10.0  # ours at least this many times faster than import-export's default
TARGET_VS_FLOOR = 4.0  # ours at most this many times the floor
TARGET_PEAK_MB = 300
# ours at MEMORY_ROWS at most 7.5× ours at DEMO_ROWS (6.5× the rows): per row, at most this many times
TARGET_SCALE_PER_ROW = 7.5 / (MEMORY_ROWS / DEMO_ROWS)
PROFILE_LINES = 25
TABLES = (
    "registry_child",
    "registry_historicalchild",
    "registry_identityclaim",
    "registry_villagestatistics",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help="计时比较用花名册行数（默认 15,362）")
    parser.add_argument(
        "--memory-rows", type=int, default=MEMORY_ROWS, help="测峰值内存的花名册行数（默认 100,000；0 不测）"
    )
    parser.add_argument("--scale-rows", type=int, help="与 M 行比较每行耗时的小花名册行数（默认同 --rows）")
    parser.add_argument("--skip-ie", action="store_true", help="不跑 django-import-export（很慢）")
    parser.add_argument("--profile", action="store_true", help="另跑一次本系统导入并打印 cProfile 摘要")
    parser.add_argument(
        "--profile-only", action="store_true", help="只剖析本系统导入 N 行（不比较、不测 M 行内存）"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="基准测试专用库（会被重建）")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"花名册文件目录（默认 {DEFAULT_DIR}）")
    parser.add_argument("--keep", action="store_true", help="复用已有的库（已载入区划时）和已生成的花名册")
    # One import in a subprocess (internal).
    parser.add_argument("--run", choices=("ours", "ie", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = _common.parse_args_quick(parser, rows=200, memory_rows=13_000, scale_rows=2_000)
    args.scale_rows = args.scale_rows or args.rows
    if not args.run and (args.rows < 100 or args.scale_rows < 100 or args.memory_rows < 0):
        parser.error("--rows、--scale-rows 至少 100，--memory-rows 不能为负")
    return args


# --- the database ---------------------------------------------------------------------------


def regions_loaded(url):
    return bool(_common.database_row_count(url, "registry_region"))


def regions_load():
    """The city's regions and the demo villages (idempotent)."""
    from registry.demo import demo_villages_load
    from registry.models import Region
    from registry.services import regions_load_city

    regions_load_city(code=CITY)
    demo_villages_load(city=Region.objects.get(code=CITY + "000000"))


def registry_empty():
    """Truncate the children, their history, ID claims and village statistics, and write out
    what the run before left in the server's buffers (CHECKPOINT): else import-export's minutes
    of writes are flushed during the next run, and slow it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("CHECKPOINT")


def villages():
    """Every village of the city as (code, county name, township name, village name)."""
    from registry.models import Region, RegionLevel

    names = dict(Region.objects.filter(code__startswith=CITY[:4]).values_list("code", "name"))
    return [
        (code, names[code[:6] + "000000"], names[code[:9] + "000"], name)
        for code, name in Region.objects.filter(level=RegionLevel.VILLAGE, code__startswith=CITY[:4])
        .order_by("code")
        .values_list("code", "name")
    ]


# --- the rosters ----------------------------------------------------------------------------


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def _school(age, county, township, village):
    """(就读学校, 年级, 就学情况, 是否寄宿) of a child of ``age``."""
    if age < 3:
        return "无", "无", "未入园", "否"
    if age < 6:
        return f"{township}中心幼儿园", ("小班", "中班", "大班")[age - 3], "幼儿园", "否"
    if age < 12:
        return f"{village.removesuffix('村').removesuffix('社区')}小学", f"{age - 5}年级", "小学", "否"
    if age < 15:
        return f"{township}初级中学", ("七年级", "八年级", "九年级")[age - 12], "初中", "是"
    return f"{county}第一高级中学", "高一", "高中", "是"


def roster_rows(total, places, on, people):
    """``total`` rows of the template's columns: valid left-behind children of ``places``,
    aged 0–15 on ``on`` (born 30 days to 16 years less 30 days before it)."""
    from registry import rules

    rng = people.rng
    oldest = _years_before(on, 16) + timedelta(days=30)
    span = (on - timedelta(days=30) - oldest).days
    for index in range(total):
        code, county, township, village = places[index * len(places) // total]
        male = rng.random() < 0.53
        birth = oldest + timedelta(days=rng.randrange(span + 1))
        age = rules.age_on(birth, on)
        surname = people.surname()
        grandparents = rng.random() < 0.85
        school, grade, schooling, boarding = _school(age, county, township, village)
        yield [
            index + 1,
            people.name(male, surname=surname),
            "男" if male else "女",
            people.id_number(code[:6], birth, male),
            birth,
            county,
            township,
            village,
            code,
            "汉族",
            school,
            grade,
            "健康",
            "祖辈监护" if grandparents else "亲属监护",
            people.name(rng.random() < 0.4, surname=surname, elder=True),
            "祖父母" if grandparents else "其他亲属",
            people.phone(),
            people.name(True, surname=surname, elder=True)[:1] + people.given_name(True),
            "外出务工",
            "广东省" + rng.choice(("广州市", "深圳市", "东莞市", "佛山市")),
            people.name(False),
            "外出务工",
            rng.choice(WORK_CITIES),
            schooling,
            boarding,
            "监护情况较好" if rng.random() < 0.6 else "监护情况一般",
            "2022年摸底排查登记",
        ]


def roster_write(path, total, places, on):
    """Write the roster of ``total`` rows to ``path`` (openpyxl write-only)."""
    from openpyxl import Workbook

    from registry.roster.template import CANONICAL_TEMPLATE_COLUMNS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("留守儿童")
    sheet.append(CANONICAL_TEMPLATE_COLUMNS)  # the columns roster_rows fills
    for row in roster_rows(total, places, on, People(seed=410900 + total)):
        sheet.append(row)
    partial = path.with_suffix(".part")
    book.save(partial)
    partial.replace(path)


def roster_file(directory, total, places, on, keep):
    path = directory / f"children_{total}_{on:%Y%m%d}.xlsx"
    if keep and path.exists():
        print(f"复用花名册 {path}（{path.stat().st_size / 2**20:.1f} MB）")
        return path
    directory.mkdir(parents=True, exist_ok=True)
    with stopwatch(f"生成 {total:,} 行花名册 {path.name}"):
        roster_write(path, total, places, on)
    print(f"  {path}：{path.stat().st_size / 2**20:.1f} MB")
    return path


# --- one import, in a subprocess ------------------------------------------------------------


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _short_paths(text):
    for prefix in sorted({*sysconfig.get_paths().values(), str(_common.ROOT)}, key=len, reverse=True):
        text = text.replace(prefix + "/", "")
    return text


def profiled(label, function):
    """Run ``function`` under cProfile; print the top entries by cumulative and by own time."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    result = profiler.runcall(function)
    elapsed = time.perf_counter() - started
    for order, count in (("cumulative", PROFILE_LINES), ("tottime", 15)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(count)
        body = out.getvalue()
        body = body[body.find("   ncalls") :]  # drop pstats' preamble
        print(f"\n== cProfile：{label}（含剖析开销 {elapsed:.1f} 秒），按 {order} 排序前 {count} 项")
        print(_short_paths(body).rstrip(), flush=True)
    return result


def run_ours(path, profile):
    from registry.choices import Category
    from registry.roster.pipeline import IMPORTERS, ImportScope, Verdict

    importer, scope = IMPORTERS[Category.CHILD], ImportScope.for_user(None)
    content = path.read_bytes()
    baseline = _peak_mb()
    phases = {}

    def preview():
        return importer(content, scope=scope, commit=False)

    def commit():
        return importer(content, scope=scope, commit=True)

    for phase, function in (("preview", preview), ("commit", commit)):
        started = time.perf_counter()
        result = profiled(f"本系统 {phase}", function) if profile else function()
        phases[phase] = time.perf_counter() - started
        invalid = result.count(Verdict.INVALID)
        if invalid:
            sample = "\n".join(f"  第{e.row}行 {e.column}：{e.message}" for e in result.errors[:10])
            raise SystemExit(f"本系统 {phase}：{invalid:,} 行无效（花名册应全部有效），前 10 条：\n{sample}")
        print(f"  本系统 {phase}：{phases[phase]:.1f} 秒，{result.summary()['rows']:,} 行", flush=True)
        if phase == "preview":
            preview_peak = _peak_mb()
            result = None  # the commit is another request: the preview's rows are not held during it
    if not result.committed or result.count(Verdict.NEW) != len(result.rows):
        raise SystemExit(f"本系统 commit 未写入全部行：{result.summary() | {'errors': '…'}}")
    return {
        "phases": phases,
        "rows": len(result.rows),
        "baseline_mb": baseline,
        "preview_peak_mb": preview_peak,
    }


def ie_resource():
    """The ModelResource an admin would declare for the roster's columns."""
    from import_export import fields, resources, widgets

    from registry.choices import (
        GuardianAssessment,
        GuardianRelation,
        GuardianshipType,
        HealthStatus,
        ParentStatus,
        Schooling,
        Sex,
    )
    from registry.models import Child, Region

    class LabelWidget(widgets.Widget):
        """A choice column in labels (男, 外出务工 …) to the stored value."""

        def __init__(self, choices):
            super().__init__()
            self.values = dict(choices) if isinstance(choices, dict) else {k: v for v, k in choices.choices}

        def clean(self, value, row=None, **kwargs):
            return self.values.get(str(value or "").strip(), str(value or "").strip())

    def column(attribute, header, widget=None):
        return fields.Field(attribute=attribute, column_name=header, widget=widget or widgets.CharWidget())

    class ChildResource(resources.ModelResource):
        name = column("name", "姓名")
        sex = column("sex", "性别", LabelWidget(Sex))
        id_number = column("id_number", "身份证号")
        birth_date = column("birth_date", "出生日期", widgets.DateWidget())
        village = column("village", "村代码", widgets.ForeignKeyWidget(Region, field="code"))
        ethnicity = column("ethnicity", "民族")
        school_name = column("school_name", "就读学校")
        grade = column("grade", "年级")
        health = column("health", "健康状况", LabelWidget(HealthStatus))
        guardianship_type = column("guardianship_type", "监护类型", LabelWidget(GuardianshipType))
        guardian_name = column("guardian_name", "监护人姓名")
        guardian_relation = column("guardian_relation", "与儿童关系", LabelWidget(GuardianRelation))
        guardian_phone = column("guardian_phone", "监护人电话")
        father_name = column("father_name", "父亲姓名")
        father_status = column("father_status", "父亲状况", LabelWidget(ParentStatus))
        father_work_place = column("father_work_place", "父亲务工地")
        mother_name = column("mother_name", "母亲姓名")
        mother_status = column("mother_status", "母亲状况", LabelWidget(ParentStatus))
        mother_work_place = column("mother_work_place", "母亲务工地")
        schooling = column("schooling", "就学情况", LabelWidget(Schooling))
        boarding = column("boarding", "是否寄宿", LabelWidget({"是": True, "否": False}))
        guardian_assessment = column("guardian_assessment", "监护评估", LabelWidget(GuardianAssessment))
        note = column("note", "备注")

        class Meta:
            model = Child
            import_id_fields = ["id_number"]
            fields = [
                "name", "sex", "id_number", "birth_date", "village", "ethnicity", "school_name", "grade",
                "health", "guardianship_type", "guardian_name", "guardian_relation", "guardian_phone",
                "father_name", "father_status", "father_work_place", "mother_name", "mother_status",
                "mother_work_place", "schooling", "boarding", "guardian_assessment", "note",
            ]  # fmt: skip

        def before_save_instance(self, instance, row, **kwargs):
            instance.village_code = instance.village.code  # NOT NULL; the pipeline derives it too

    return ChildResource()


def run_ie(path, profile):
    import tablib

    content = path.read_bytes()
    baseline = _peak_mb()
    phases = {}
    rows = 0
    for phase, dry_run in (("dry run", True), ("commit", False)):
        started = time.perf_counter()

        def run(dry_run=dry_run):
            # As its admin does: the uploaded file is read again for the confirmed import.
            dataset = tablib.Dataset().load(content, format="xlsx")
            return ie_resource().import_data(dataset, dry_run=dry_run)

        result = profiled(f"import-export {phase}", run) if profile else run()
        phases[phase] = time.perf_counter() - started
        if result.has_errors() or result.has_validation_errors():
            errors = [e.error for e in result.base_errors][:3] + [
                f"第{r.number}行 {r.error}" for r in result.invalid_rows[:3]
            ]
            raise SystemExit(f"import-export {phase} 出错：{errors}")
        rows = result.total_rows
        print(f"  import-export {phase}：{phases[phase]:.1f} 秒，{dict(result.totals)}", flush=True)
    return {"phases": phases, "rows": rows, "baseline_mb": baseline}


def run_floor(path, profile):
    """calamine read + COPY of the same rows into registry_child (labels mapped to stored
    values, the village's id from its code, every other NOT NULL column its model default)."""
    from django.db import transaction
    from django.utils import timezone
    from python_calamine import CalamineWorkbook

    from registry.models import Child, Region
    from registry.roster import normalize

    baseline = _peak_mb()
    phases = {}
    started = time.perf_counter()
    cells = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    phases["calamine read"] = time.perf_counter() - started

    started = time.perf_counter()
    header, data = cells[0], cells[1:]
    by_header = {
        "姓名": "name", "性别": "sex", "身份证号": "id_number", "出生日期": "birth_date",
        "村代码": "village_code",
        "民族": "ethnicity", "就读学校": "school_name", "年级": "grade", "健康状况": "health",
        "监护类型": "guardianship_type", "监护人姓名": "guardian_name", "与儿童关系": "guardian_relation",
        "监护人电话": "guardian_phone", "父亲姓名": "father_name", "父亲状况": "father_status",
        "父亲务工地": "father_work_place", "母亲姓名": "mother_name", "母亲状况": "mother_status",
        "母亲务工地": "mother_work_place", "就学情况": "schooling", "是否寄宿": "boarding",
        "监护评估": "guardian_assessment", "备注": "note",
    }  # fmt: skip
    positions = [(header.index(label), name) for label, name in by_header.items()]
    labels = {name: normalize.CHOICES.get(name, {}) for _, name in positions}
    labels["boarding"] = {"是": True, "否": False}
    village_ids = dict(Region.objects.filter(code__startswith=CITY[:4]).values_list("code", "id"))
    now = timezone.now()
    fixed = {}
    for model_field in Child._meta.concrete_fields:
        if model_field.primary_key or model_field.null or model_field.name in by_header.values():
            continue
        value = (
            now
            if getattr(model_field, "auto_now_add", False) or getattr(model_field, "auto_now", False)
            else model_field.get_default()
        )
        fixed[model_field.column] = json.dumps(value) if isinstance(value, list | dict) else value
    fixed.pop("village_id", None)
    columns = [name for _, name in positions] + ["village_id", *fixed]

    code_at = header.index("村代码")

    def rows():
        for cells in data:
            values = []
            for j, name in positions:
                value = cells[j]
                value = labels[name].get(value, value) if labels[name] else value
                values.append(value.date() if isinstance(value, datetime) else value)
            yield (*values, village_ids[cells[code_at]], *fixed.values())

    with transaction.atomic():
        loaded = _common.copy_rows("registry_child", columns, rows())
    phases["COPY"] = time.perf_counter() - started
    print(f"  下限：读取 {phases['calamine read']:.2f} 秒，COPY {phases['COPY']:.2f} 秒，{loaded:,} 行")
    return {"phases": phases, "rows": loaded, "baseline_mb": baseline}


def child_main(args):
    _common.django_setup(args.database_url)
    runner = {"ours": run_ours, "ie": run_ie, "floor": run_floor}[args.run]
    result = runner(args.file, args.profile)
    result["peak_mb"] = _peak_mb()
    args.out.write_text(json.dumps(result))
    return 0


def run_child(kind, path, args, *, profile=False):
    """Run one import in a subprocess; its phases, rows and peak memory."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = Path(out.name)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        kind,
        "--file",
        str(path),
        "--out",
        str(out_path),
    ]
    command += ["--database-url", args.database_url] + (["--profile"] if profile else [])
    try:
        subprocess.run(command, check=True)
        return json.loads(out_path.read_text())
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{kind} 导入子进程失败（退出码 {error.returncode}）") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            out_path.unlink()


# --- the report -----------------------------------------------------------------------------


def report(rows, runs):
    """The table of phases and the two ratios against their targets."""
    table = []
    totals = {}
    names = {"ours": "本系统", "ie": "import-export 默认", "floor": "下限 calamine+COPY"}
    for kind, run in runs.items():
        for phase, seconds in run["phases"].items():
            table.append((names[kind], phase, f"{seconds:.2f}", f"{rows / seconds:,.0f}", ""))
        totals[kind] = sum(run["phases"].values())
        table.append(
            (
                names[kind],
                "合计",
                f"{totals[kind]:.2f}",
                f"{rows / totals[kind]:,.0f}",
                f"{run['peak_mb']:.0f}",
            )
        )
    print(f"\n== {rows:,} 行花名册（每项在独立子进程中、空台账上运行）")
    _common.print_table(["导入方式", "阶段", "秒", "行/秒", "峰值内存 MB"], table, right=(2, 3, 4))
    print()
    verdicts = []
    if "ie" in totals:
        ratio = totals["ie"] / totals["ours"]
        verdicts.append(ratio >= TARGET_VS_IE)
        print(
            f"import-export 默认 / 本系统 = {ratio:.2f}×（目标 ≥ {TARGET_VS_IE:.0f}×）："
            f"{'PASS' if verdicts[-1] else 'FAIL'}"
        )
    ratio = totals["ours"] / totals["floor"]
    verdicts.append(ratio <= TARGET_VS_FLOOR)
    print(
        f"本系统 / 下限 = {ratio:.2f}×（目标 ≤ {TARGET_VS_FLOOR:.0f}×）：{'PASS' if verdicts[-1] else 'FAIL'}"
    )
    return all(verdicts)


def summary_line(rows, run):
    total = sum(run["phases"].values())
    phases = "，".join(f"{k} {v:.2f} 秒（{rows / v:,.0f} 行/秒）" for k, v in run["phases"].items())
    print(
        f"== {rows:,} 行：{phases}，合计 {total:.2f} 秒；峰值常驻内存 {run['peak_mb']:.0f} MB"
        f"（导入前 {run['baseline_mb']:.0f} MB，预览结束时 {run['preview_peak_mb']:.0f} MB）",
        flush=True,
    )


def scale_report(small_rows, small, big_rows, big):
    """Ours at ``big_rows`` against ours at ``small_rows``: the ratio of times, its target (the
    ratio of rows × TARGET_SCALE_PER_ROW: 7.5× for 100,000 against 15,362), both peaks."""
    rows_ratio = big_rows / small_rows
    ratio = sum(big["phases"].values()) / sum(small["phases"].values())
    target = rows_ratio * TARGET_SCALE_PER_ROW
    ok = ratio <= target
    print(
        f"本系统 {big_rows:,} 行 / {small_rows:,} 行（{rows_ratio:.2f}× 的行数）= {ratio:.2f}× 的时间"
        f"（每行 {ratio / rows_ratio:.2f}×；目标 ≤ {target:.2f}×）：{'PASS' if ok else 'FAIL'}；"
        f"峰值常驻内存 {big['peak_mb']:.0f} MB 与 {small['peak_mb']:.0f} MB",
        flush=True,
    )
    return ok


def main():
    args = parse_args()
    if args.run:
        return child_main(args)
    url = args.database_url
    reuse = args.keep and regions_loaded(url)
    if not reuse:
        _common.database_recreate(url)
    _common.use_project_root()
    _common.django_setup(url)

    from django.core.management import call_command

    from registry.records import reference_date

    print(f"数据库 {_common.database_name(url)}：{_common.server_version()}")
    with stopwatch("迁移与区划（含演示村）"):
        call_command("migrate", verbosity=0)
        if not reuse:
            regions_load()
    places = villages()
    on = reference_date()
    print(f"{len(places):,} 个村（社区）；年龄按基准日 {on} 计（无进行中的摸底排查时为今天）")
    small = roster_file(args.dir, args.rows, places, on, args.keep)
    if args.profile_only:
        print(f"\n剖析本系统 {args.rows:,} 行（空台账）", flush=True)
        registry_empty()
        run_child("ours", small, args, profile=True)
        registry_empty()
        return 0
    large = roster_file(args.dir, args.memory_rows, places, on, args.keep) if args.memory_rows else None
    print(f"本机 {os.cpu_count()} 核，1 分钟平均负载 {os.getloadavg()[0]:.2f}（计时前）\n")

    runs = {}
    for kind in ("ours", "ie", "floor"):
        if kind == "ie" and args.skip_ie:
            continue
        registry_empty()
        print(f"{kind}：{args.rows:,} 行", flush=True)
        runs[kind] = run_child(kind, small, args)
    registry_empty()
    passed = report(args.rows, runs)
    print(f"（计时后 1 分钟平均负载 {os.getloadavg()[0]:.2f}）", flush=True)

    if args.profile:
        print(f"\n剖析本系统 {args.rows:,} 行（另一次运行，空台账）", flush=True)
        run_child("ours", small, args, profile=True)
        registry_empty()
    if large:
        scale = runs["ours"]
        if args.scale_rows != args.rows:
            path = roster_file(args.dir, args.scale_rows, places, on, args.keep)
            print(f"\n本系统 {args.scale_rows:,} 行（预览 + 提交）", flush=True)
            scale = run_child("ours", path, args)
            registry_empty()
            summary_line(args.scale_rows, scale)
        print(f"\n本系统 {args.memory_rows:,} 行（预览 + 提交）", flush=True)
        run = run_child("ours", large, args)
        registry_empty()
        summary_line(args.memory_rows, run)
        ok = run["peak_mb"] < TARGET_PEAK_MB
        print(f"峰值常驻内存目标 < {TARGET_PEAK_MB} MB：{'PASS' if ok else 'FAIL'}")
        passed = passed and ok and scale_report(args.scale_rows, scale, args.memory_rows, run)
    if args.quick:
        print("--quick：各次导入均已成功，目标不评判")
        return 0
    return 0 if passed else 1


if __name__ == "__main__":
    if "--run" not in sys.argv:
        sys.exit(main())
    _common.use_project_root()
    sys.exit(main())
