"""The region loaders: `load_regions` from the bundled national data, `load_villages` from a file."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import PREFIX_LENGTH, Region, RegionLevel, full_code
from registry.services import regions_load_city
from tests.factories import RegionFactory

HEADER = "code,name,township_code\n"
VILLAGES = "410922100201,东街村,410922100\n410922100202,西街村,410922100\n410922101201,马庄村,410922101000\n"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def level_counts():
    return {level: Region.objects.at_level(level).count() for level in RegionLevel}


def villages():
    return list(
        Region.objects.at_level(RegionLevel.VILLAGE)
        .order_by("code")
        .values_list("code", "name", "parent__code")
    )


def ids():
    return dict(Region.objects.values_list("code", "id"))


PUYANG = {
    RegionLevel.PROVINCE: 1,
    RegionLevel.CITY: 1,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 89,
    RegionLevel.VILLAGE: 0,
}


# load_regions


@pytest.mark.django_db
def test_load_regions_city_loads_each_level():
    out = run("load_regions", "410900")

    assert out == "已载入 410900：新建 97 条，更新 0 条，未变 0 条。\n"
    assert level_counts() == PUYANG
    assert Region.objects.get(code="410900000000").name == "濮阳市"
    assert Region.objects.get(code="410922100000").name == "城关镇"


@pytest.mark.django_db
def test_load_regions_city_links_parents_by_code_prefix():
    run("load_regions", "410900")

    province = Region.objects.get(code="410000000000")
    assert (province.name, province.parent) == ("河南省", None)
    for region in Region.objects.exclude(pk=province.pk).select_related("parent"):
        parent_length = PREFIX_LENGTH[region.parent.level]
        assert region.parent.code == full_code(region.code[:parent_length])
        assert region.code.startswith(region.parent.prefix)
    county = Region.objects.get(code="410922000000")
    assert (county.name, county.parent.code) == ("清丰县", "410900000000")
    assert set(county.children.values_list("level", flat=True)) == {RegionLevel.TOWNSHIP}


@pytest.mark.django_db
def test_load_regions_twice_changes_nothing():
    run("load_regions", "410900")
    before = ids()

    out = run("load_regions", "410900")

    assert out == "已载入 410900：新建 0 条，更新 0 条，未变 97 条。\n"
    assert ids() == before
    assert level_counts() == PUYANG


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["4109", "410900000000", " 410900 "])
def test_load_regions_other_code_forms_load_the_same_city(code):
    run("load_regions", code)

    assert level_counts() == PUYANG


@pytest.mark.django_db
def test_load_regions_changed_region_is_updated():
    RegionFactory(code="410900000000", name="旧名", level=RegionLevel.COUNTY, parent=None)

    out = run("load_regions", "410900")

    assert out == "已载入 410900：新建 96 条，更新 1 条，未变 0 条。\n"
    city = Region.objects.get(code="410900000000")
    assert (city.name, city.level, city.parent.code) == ("濮阳市", RegionLevel.CITY, "410000000000")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("abc", "区划代码“abc”应为 4、6 或 12 位数字，例如 410900。"),
        ("41090", "区划代码“41090”应为 4、6 或 12 位数字，例如 410900。"),
        ("999900", "未找到市级区划代码“999900”。"),
        ("410922", "“410922”不是市级区划代码：市级代码只有前 4 位有效，例如 410900。"),
        ("410000", "“410000”是省级区划代码，请给出其下的市级代码，例如 410900。"),
    ],
)
def test_load_regions_bad_code_writes_nothing(code, message):
    with pytest.raises(CommandError) as excinfo:
        run("load_regions", code)

    assert str(excinfo.value) == message
    assert Region.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["110100", "110000"])
def test_load_regions_municipality_puts_counties_under_a_city_row(code):
    run("load_regions", code)

    city = Region.objects.get(level=RegionLevel.CITY)
    assert (city.code, city.name, city.parent.name) == ("110100000000", "市辖区", "北京市")
    assert level_counts() == {**PUYANG, RegionLevel.COUNTY: 16, RegionLevel.TOWNSHIP: 343}
    assert Region.objects.at_level(RegionLevel.COUNTY).exclude(parent=city).count() == 0


@pytest.mark.django_db
def test_load_regions_directly_governed_counties_get_a_city_row():
    run("load_regions", "419000")

    county = Region.objects.get(level=RegionLevel.COUNTY)
    assert (county.code, county.name) == ("419001000000", "济源市")
    assert (county.parent.code, county.parent.name) == ("419000000000", "省直辖县级行政区划")


# load_villages


@pytest.fixture
def townships(db):
    regions_load_city(code="4109")


def write(tmp_path, text, encoding="utf-8", name="villages.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def load_error(path):
    with pytest.raises(CommandError) as excinfo:
        run("load_villages", path)
    return str(excinfo.value)


LOADED = [
    ("410922100201", "东街村", "410922100000"),
    ("410922100202", "西街村", "410922100000"),
    ("410922101201", "马庄村", "410922101000"),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_load_villages_csv_creates_villages(townships, tmp_path, encoding):
    path = write(tmp_path, HEADER + VILLAGES, encoding)

    out = run("load_villages", path)

    assert out == f"已载入 {path}：新建 3 条，更新 0 条，未变 0 条。\n"
    assert villages() == LOADED


def test_load_villages_csv_strips_spaces_and_skips_blank_lines(townships, tmp_path):
    text = " code , name ,township_code\r\n\r\n 410922100201 , 东街村 , 410922100\r\n,,\r\n"
    path = write(tmp_path, text)

    out = run("load_villages", path)

    assert out == f"已载入 {path}：新建 1 条，更新 0 条，未变 0 条。\n"
    assert villages() == LOADED[:1]


def test_load_villages_xlsx_creates_villages(townships, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "township_code"])
    sheet.append([410922100201, "东街村", 410922100])  # codes typed as numbers
    sheet.append([])
    sheet.append(["410922100202", "西街村", "410922100"])
    sheet.append(["410922101201", " 马庄村 ", "410922101000"])
    path = tmp_path / "villages.xlsx"
    workbook.save(path)

    out = run("load_villages", str(path))

    assert out == f"已载入 {path}：新建 3 条，更新 0 条，未变 0 条。\n"
    assert villages() == LOADED


def test_load_villages_xlsx_bad_row_named_by_sheet_row(townships, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "township_code"])
    sheet.append([])
    sheet.append(["410922100201", "", "410922100"])
    path = tmp_path / "villages.xlsx"
    workbook.save(path)

    assert load_error(str(path)) == "未写入任何数据：\n第 3 行：名称为空"
    assert villages() == []


def test_load_villages_reload_changes_nothing(townships, tmp_path):
    path = write(tmp_path, HEADER + VILLAGES)
    run("load_villages", path)
    before = ids()

    out = run("load_villages", path)

    assert out == f"已载入 {path}：新建 0 条，更新 0 条，未变 3 条。\n"
    assert ids() == before
    assert villages() == LOADED


def test_load_villages_renamed_village_updates_one_row(townships, tmp_path):
    run("load_villages", write(tmp_path, HEADER + VILLAGES))
    before = ids()
    path = write(tmp_path, HEADER + VILLAGES.replace("西街村", "西关村"), name="renamed.csv")

    out = run("load_villages", path)

    assert out == f"已载入 {path}：新建 0 条，更新 1 条，未变 2 条。\n"
    assert ids() == before
    assert villages() == [LOADED[0], ("410922100202", "西关村", "410922100000"), LOADED[2]]


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ("41092210020,东街村,410922100\n", "第 2 行：村代码“41092210020”应为 12 位数字"),
        ("4109221002O1,东街村,410922100\n", "第 2 行：村代码“4109221002O1”应为 12 位数字"),
        ("410922100201,,410922100\n", "第 2 行：名称为空"),
        ("410922100201," + "村" * 65 + ",410922100\n", "第 2 行：名称超过 64 个字"),
        ("410922199201,东街村,410922199\n", "第 2 行：乡镇代码“410922199”不是已载入的乡镇（街道）"),
        ("410922000201,东街村,410922000\n", "第 2 行：乡镇代码“410922000”不是已载入的乡镇（街道）"),
        ("410922100201,东街村,4109221\n", "第 2 行：乡镇代码“4109221”不是已载入的乡镇（街道）"),
        ("410922101201,东街村,410922100\n", "第 2 行：村代码“410922101201”不以所属乡镇代码 410922100 开头"),
        (
            "410922100201,东街村,410922100\n410922100201,西街村,410922100\n",
            "第 3 行：村代码“410922100201”与第 2 行重复",
        ),
        ("410922100000,东街村,410922100\n", "第 2 行：代码“410922100000”已是乡镇（街道）“城关镇”"),
    ],
)
def test_load_villages_bad_line_writes_nothing(townships, tmp_path, lines, error):
    assert load_error(write(tmp_path, HEADER + lines)) == f"未写入任何数据：\n{error}"
    assert villages() == []


def test_load_villages_village_under_other_township_is_refused(townships, tmp_path):
    other = Region.objects.get(code="410922101000")
    RegionFactory(code="410922100201", name="东街村", level=RegionLevel.VILLAGE, parent=other)

    error = load_error(write(tmp_path, HEADER + "410922100201,东街村,410922100\n"))

    assert error == "未写入任何数据：\n第 2 行：村代码“410922100201”已登记在其他乡镇下"
    assert villages() == [("410922100201", "东街村", "410922101000")]


def test_load_villages_one_bad_line_among_good_writes_nothing(townships, tmp_path):
    text = HEADER + VILLAGES + "\n410922100203,,410922100\n410922100204,南街村,410922100\n"

    assert load_error(write(tmp_path, text)) == "未写入任何数据：\n第 6 行：名称为空"
    assert villages() == []


def test_load_villages_every_bad_line_is_reported(townships, tmp_path):
    text = HEADER + "410922100201,,410922100\n410922100202,西街村,410922100\n4109,北街村,410922100\n"

    assert load_error(write(tmp_path, text)) == (
        "未写入任何数据：\n第 2 行：名称为空\n第 4 行：村代码“4109”应为 12 位数字"
    )
    assert villages() == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("code,name\n410922100201,东街村\n", "表头缺少列：township_code（应为 code,name,township_code）。"),
        ("\n\n", "文件为空：第一行应为表头 code,name,township_code。"),
    ],
)
def test_load_villages_bad_header_writes_nothing(townships, tmp_path, text, error):
    assert load_error(write(tmp_path, text)) == f"未写入任何数据：\n{error}"
    assert villages() == []


def test_load_villages_missing_file_is_an_error(db, tmp_path):
    path = str(tmp_path / "none.csv")

    assert load_error(path) == f"找不到文件“{path}”。"


def test_load_villages_query_count_does_not_grow(townships, tmp_path):
    one = write(tmp_path, HEADER + "410922100201,东街村,410922100\n", name="one.csv")
    many = write(
        tmp_path, HEADER + "".join(f"4109221012{n:02d},村{n},410922101\n" for n in range(30)), name="many.csv"
    )

    with CaptureQueriesContext(connection) as one_queries:
        run("load_villages", one)
    with CaptureQueriesContext(connection) as many_queries:
        run("load_villages", many)

    assert len(many_queries) == len(one_queries)
