"""Cells and headers of real rosters, normalised (registry.roster.normalize / headers)."""

import datetime

import pytest

from registry.roster import normalize
from registry.roster.headers import CHILD_COLUMNS, WOMAN_COLUMNS, find_header
from registry.roster.normalize import ID_AS_NUMBER, CellError


@pytest.mark.parametrize(
    "raw",
    [
        "2012-03-05",
        "2012.3.5",
        "2012/3/5",
        "2012年3月5日",
        "20120305",
        "２０１２－０３－０５",
        20120305.0,
        datetime.datetime(2012, 3, 5, 0, 0),
        datetime.date(2012, 3, 5),
        40973.0,
    ],
)
def test_roster_date_read_from_every_usual_form(raw):
    assert normalize.date(raw) == datetime.date(2012, 3, 5)


def test_roster_date_not_understood_names_the_value():
    with pytest.raises(CellError) as error:
        normalize.date("去年春天")
    assert str(error.value) == "出生日期“去年春天”无法识别，请写成 2012-03-05 这样的日期"


@pytest.mark.parametrize(
    "raw", [4.10922201503051e17, 410922201503051234, "4.10922E+17", "410922201503051000"]
)
def test_roster_id_stored_as_a_number_is_refused(raw):
    with pytest.raises(CellError) as error:
        normalize.id_number(raw)
    assert str(error.value) == ID_AS_NUMBER


def test_roster_id_text_is_cleaned():
    assert normalize.id_number(" ４１０９２２ 2015\u200b0305123x ") == "41092220150305123X"


@pytest.mark.parametrize("raw", [17780490636.0, 17780490636, "17780490636.0", " 177 8049 0636 "])
def test_roster_phone_float_becomes_its_digits(raw):
    assert normalize.phone(raw) == "17780490636"


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        ("guardianship_type", "祖辈", "grandparent"),
        ("father_status", "外出", "away_working"),
        ("mother_status", "务工", "away_working"),
        ("father_status", "在 家", "at_home"),
        ("guardian_relation", "奶奶", "grandparent"),
        ("sex", "男", "male"),
    ],
)
def test_roster_choice_short_forms(field, raw, value):
    assert normalize.choice(field, raw, "列") == value


def test_roster_choice_not_understood_lists_what_is_allowed():
    with pytest.raises(CellError) as error:
        normalize.choice("guardianship_type", "爷爷", "监护类型")
    assert (
        str(error.value)
        == "监护类型“爷爷”无法识别，可填：祖辈监护、亲属监护、委托监护、父母一方监护、无人监护"
    )


@pytest.mark.parametrize(
    ("cells", "skipped"),
    [(["", None, "  "], True), (["合计", "12人"], True), (["注：本表…"], True), (["1", "张三"], False)],
)
def test_roster_blank_total_and_note_rows_are_skipped(cells, skipped):
    assert normalize.is_skipped(cells) is skipped


def test_roster_header_variants_and_two_level_header():
    rows = [
        (1, ["某村留守儿童花名册", "", "", "", "", "", ""]),
        (2, ["填报单位：某村", "", "", "", "填报日期：2024-05-01", "", ""]),
        (
            3,
            ["序 号", "姓名", "公民身份号码", "村（社区）", "监护人情况", "", "", "父亲情况", ""],
        ),
        (4, ["", "", "", "", "姓名", "与儿童关系", "联系电话", "姓名", "状况"]),
    ]

    header = find_header(rows, CHILD_COLUMNS)

    assert header.row_number == 4
    assert list(header.columns.values()) == [
        "序号", "姓名", "身份证号", "村(社区)", "监护人姓名", "与儿童关系", "监护人电话",
        "父亲姓名", "父亲状况",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "value"), [(3, 3), (3.0, 3), ("３", 3), ("12个月", 12), (" 2 人", 2), ("", None)]
)
def test_roster_count_read_from_numbers_and_text(raw, value):
    assert normalize.count(raw, "子女数") == value


@pytest.mark.parametrize("raw", ["很久", "2.5", 2.5, -1, "三"])
def test_roster_count_not_understood(raw):
    with pytest.raises(CellError) as error:
        normalize.count(raw, "子女数")
    assert str(error.value).startswith("子女数“")


@pytest.mark.parametrize("raw", ["a\x00b", "\x1b[31m", "x\x7f", "\x85", "\u009b"])
def test_roster_control_characters_refused(raw):
    with pytest.raises(CellError) as error:
        normalize.check_control(raw, "姓名")
    assert str(error.value) == "姓名含有不可见的控制字符，请删除后重新填写"


@pytest.mark.parametrize("raw", ["张\n三", "a\tb", "x\r\ny", 12.0, None])
def test_roster_line_breaks_and_numbers_are_not_control_characters(raw):
    normalize.check_control(raw, "姓名")


def test_roster_overlong_text_names_the_limit():
    normalize.check_length("张" * 30, 30, "姓名")
    with pytest.raises(CellError) as error:
        normalize.check_length("张" * 31, 30, "姓名")
    assert str(error.value) == "姓名超过30个字的长度上限（现为31个字）"


@pytest.mark.parametrize(
    ("raw", "value"), [("独居", "alone"), ("敬老院", "care_facility"), ("与配偶同住", "with_spouse")]
)
def test_roster_living_arrangement_short_forms(raw, value):
    assert normalize.choice("living_arrangement", raw, "居住情况") == value


def test_roster_womans_two_level_header_under_husband():
    rows = [
        (1, ["留守妇女花名册"]),
        (2, ["序号", "姓名", "身份证号", "联系电话", "丈夫情况", "", "", ""]),
        (3, ["", "", "", "", "姓名", "务工地", "外出时间", "联系电话"]),
    ]

    header = find_header(rows, WOMAN_COLUMNS)

    assert list(header.columns.values()) == [
        "序号", "姓名", "身份证号", "联系电话", "丈夫姓名", "丈夫务工地", "丈夫外出月数", "丈夫电话",
    ]  # fmt: skip
    assert list(header.labels.values()) == [
        "序号", "姓名", "身份证号", "联系电话", "丈夫姓名", "丈夫务工地", "丈夫外出月数", "丈夫电话",
    ]  # fmt: skip
