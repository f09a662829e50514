"""The registry's rules (DESIGN §2): ID numbers, who counts as left behind, red flags."""

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from stdnum.cn import ric

from registry.choices import (
    AgeBand,
    GuardianAssessment,
    GuardianshipType,
    HealthStatus,
    LeftBehindType,
    ParentStatus,
    Schooling,
    Sex,
)
from registry.rules import (
    ChildVerdict,
    IdCheck,
    Verdict,
    age_on,
    check_id_number,
    check_sex_and_birth,
    child_red_flags,
    classify_child,
    classify_elder,
    classify_woman,
    is_high_risk,
    normalize_id_number,
)

TODAY = date(2024, 7, 31)


def make_id(region="410922", birth="20100315", seq="121"):
    """A well-formed ID number: 17 digits and the check digit stdnum computes for them."""
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character given


def make_id_ending_in_x():
    """The first ID number of a child born 2010-03-15 in 清丰县 whose check digit is X."""
    return next(
        number for number in (make_id(seq=f"{seq:03d}") for seq in range(1000)) if number.endswith("X")
    )


def wrong_check_digit(number):
    return number[:-1] + ("0" if number[-1] in "9X" else str(int(number[-1]) + 1))


def full_width(text):
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


VALID = make_id()  # male: its 17th digit, 1, is odd; its check digit is a digit
VALID_X = make_id_ending_in_x()  # female: its 17th digit is even
BORN = date(2010, 3, 15)


# ---------------------------------------------------------------------------------------------
# normalize_id_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID, VALID),
        (VALID_X.lower(), VALID_X),
        (full_width(VALID_X), VALID_X),
        (full_width(VALID_X.lower()), VALID_X),
        (f" {VALID[:6]} {VALID[6:14]}\t{VALID[14:]}\n", VALID),
        (f"{VALID[:9]}\x0b\x0c\x1c{VALID[9:]}\r", VALID),
        (f"{VALID[:6]}\u3000{VALID[6:10]}\u00a0{VALID[10:]}", VALID),
        (
            f"\ufeff{VALID[:4]}\u200b{VALID[4:8]}\u200c{VALID[8:12]}\u200d{VALID[12:16]}\u2060{VALID[16:]}",
            VALID,
        ),
        (int(VALID), VALID),
        (None, ""),
        ("", ""),
    ],
    ids=[
        "plain",
        "lowercase-x",
        "full-width",
        "full-width-lowercase-x",
        "spaces-tab-newline",
        "ascii-control-whitespace",
        "ideographic-and-no-break-space",
        "zero-width",
        "excel-integer",
        "none",
        "empty",
    ],
)
def test_normalize_id_number_cleans(raw, expected):
    assert normalize_id_number(raw) == expected


# ---------------------------------------------------------------------------------------------
# check_id_number

FEB_30 = make_id(birth="20230230")
FUTURE = make_id(birth="20250101")
REGION_UNLISTED = make_id(region="410971")  # 濮阳经济技术开发区: stdnum raises KeyError on it
REGION_UNKNOWN = make_id(region="999999")
REGION_WITHDRAWN = make_id(region="410911")  # 濮阳市郊区, 1983–1987
REGION_NEWER_THAN_BIRTH = make_id(region="410922", birth="19750101", seq="124")  # 清丰县 since 1983

CHECKSUM = "身份证号校验位错误，请核对最后一位"
FORMAT = "身份证号只能包含数字，最后一位可以是X"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID, IdCheck(number=VALID, birth_date=BORN, sex=Sex.MALE)),
        (make_id(seq="124"), IdCheck(number=make_id(seq="124"), birth_date=BORN, sex=Sex.FEMALE)),
        (make_id(seq="090"), IdCheck(number=make_id(seq="090"), birth_date=BORN, sex=Sex.FEMALE)),
        (make_id(seq="001"), IdCheck(number=make_id(seq="001"), birth_date=BORN, sex=Sex.MALE)),
        (VALID_X, IdCheck(number=VALID_X, birth_date=BORN, sex=Sex.FEMALE)),
        (VALID_X.lower(), IdCheck(number=VALID_X, birth_date=BORN, sex=Sex.FEMALE)),
        (full_width(VALID_X.lower()), IdCheck(number=VALID_X, birth_date=BORN, sex=Sex.FEMALE)),
        (full_width(VALID), IdCheck(number=VALID, birth_date=BORN, sex=Sex.MALE)),
        (
            f" {VALID[:6]}\u3000{VALID[6:14]}\u200b{VALID[14:]} ",
            IdCheck(number=VALID, birth_date=BORN, sex=Sex.MALE),
        ),
        (int(VALID), IdCheck(number=VALID, birth_date=BORN, sex=Sex.MALE)),
        (wrong_check_digit(VALID), IdCheck(number=wrong_check_digit(VALID), errors=(CHECKSUM,))),
        (VALID_X[:-1] + "0", IdCheck(number=VALID_X[:-1] + "0", errors=(CHECKSUM,))),
        (FEB_30, IdCheck(number=FEB_30, errors=("身份证号中的出生日期 20230230 不存在",))),
        (
            wrong_check_digit(FEB_30),
            IdCheck(
                number=wrong_check_digit(FEB_30), errors=(CHECKSUM, "身份证号中的出生日期 20230230 不存在")
            ),
        ),
        (
            make_id(birth="20101301"),
            IdCheck(number=make_id(birth="20101301"), errors=("身份证号中的出生日期 20101301 不存在",)),
        ),
        (FUTURE, IdCheck(number=FUTURE, errors=("身份证号中的出生日期 20250101 晚于今天",))),
        (
            make_id(birth="18991231"),
            IdCheck(
                number=make_id(birth="18991231"), errors=("身份证号中的出生日期 18991231 早于1900年，请核对",)
            ),
        ),
        (
            "410922100315123",
            IdCheck(
                number="410922100315123",
                errors=("身份证号应为18位，当前为15位（旧版15位身份证号请换为18位）",),
            ),
        ),
        (VALID[:17], IdCheck(number=VALID[:17], errors=("身份证号应为18位，当前为17位",))),
        (VALID + "1", IdCheck(number=VALID + "1", errors=("身份证号应为18位，当前为19位",))),
        (
            VALID[:9] + "A" + VALID[10:],
            IdCheck(number=VALID[:9] + "A" + VALID[10:], errors=(FORMAT,)),
        ),
        (
            "41092210031512A",
            IdCheck(number="41092210031512A", errors=("身份证号应为18位，当前为15位", FORMAT)),
        ),
        (VALID[:-1] + "Y", IdCheck(number=VALID[:-1] + "Y", errors=(FORMAT,))),
        ("", IdCheck(number="", errors=("请填写身份证号",))),
        (None, IdCheck(number="", errors=("请填写身份证号",))),
        (" \u200b ", IdCheck(number="", errors=("请填写身份证号",))),
        (
            REGION_UNLISTED,
            IdCheck(
                number=REGION_UNLISTED,
                birth_date=BORN,
                sex=Sex.MALE,
                warnings=("身份证号前6位地区码 410971 不在国家区划代码表中，请核对",),
            ),
        ),
        (
            make_id(region="410972"),
            IdCheck(
                number=make_id(region="410972"),
                birth_date=BORN,
                sex=Sex.MALE,
                warnings=("身份证号前6位地区码 410972 不在国家区划代码表中，请核对",),
            ),
        ),
        (
            REGION_UNKNOWN,
            IdCheck(
                number=REGION_UNKNOWN,
                birth_date=BORN,
                sex=Sex.MALE,
                warnings=("身份证号前6位地区码 999999 不在国家区划代码表中，请核对",),
            ),
        ),
        (
            wrong_check_digit(REGION_UNLISTED),
            IdCheck(
                number=wrong_check_digit(REGION_UNLISTED),
                errors=(CHECKSUM,),
                warnings=("身份证号前6位地区码 410971 不在国家区划代码表中，请核对",),
            ),
        ),
        (
            REGION_WITHDRAWN,
            IdCheck(
                number=REGION_WITHDRAWN,
                birth_date=BORN,
                sex=Sex.MALE,
                warnings=("身份证号前6位地区码 410911 已于1987年停用，早于出生年份2010年，请核对",),
            ),
        ),
        (
            make_id(region="410911", birth="19850101"),
            IdCheck(
                number=make_id(region="410911", birth="19850101"), birth_date=date(1985, 1, 1), sex=Sex.MALE
            ),
        ),
        (
            REGION_NEWER_THAN_BIRTH,
            IdCheck(number=REGION_NEWER_THAN_BIRTH, birth_date=date(1975, 1, 1), sex=Sex.FEMALE),
        ),
    ],
    ids=[
        "valid-male",
        "valid-female",
        "valid-female-seq-090",
        "valid-male-seq-001",
        "valid-x-check-digit",
        "lowercase-x",
        "full-width-lowercase-x",
        "full-width-digits",
        "spaces-and-zero-width-inside",
        "excel-integer",
        "bad-checksum",
        "x-replaced-by-0",
        "feb-30",
        "bad-checksum-and-feb-30",
        "month-13",
        "future-birth-date",
        "before-1900",
        "old-15-digit-id",
        "17-characters",
        "19-characters",
        "letter-in-the-middle",
        "15-characters-with-a-letter",
        "bad-last-character",
        "empty",
        "none",
        "only-whitespace",
        "region-410971-unlisted-keyerror-in-stdnum",
        "region-410972-unlisted-keyerror-in-stdnum",
        "region-unknown",
        "region-unlisted-and-bad-checksum",
        "region-withdrawn-before-birth",
        "region-in-use-in-birth-year",
        "region-newer-than-birth-year",
    ],
)
def test_check_id_number_cases(raw, expected):
    assert check_id_number(raw, today=TODAY) == expected


def test_check_id_number_valid_x_is_ok():
    result = check_id_number(VALID_X, today=TODAY)
    assert (result.ok, result.number[-1], result.errors) == (True, "X", ())


def test_check_id_number_ok_despite_region_warning():
    assert check_id_number(REGION_UNLISTED, today=TODAY).ok is True


def test_check_id_number_bad_checksum_not_ok():
    assert check_id_number(wrong_check_digit(VALID), today=TODAY).ok is False


def test_check_id_number_future_without_today_uses_local_date():
    number = make_id(birth="20990101")
    assert check_id_number(number).errors == ("身份证号中的出生日期 20990101 晚于今天",)


def test_check_id_number_born_today_is_valid():
    number = make_id(birth="20240731")
    assert check_id_number(number, today=TODAY) == IdCheck(number=number, birth_date=TODAY, sex=Sex.MALE)


# ---------------------------------------------------------------------------------------------
# check_sex_and_birth

MALE_ID = check_id_number(VALID, today=TODAY)
FEMALE_ID = check_id_number(make_id(seq="124"), today=TODAY)
BAD_ID = check_id_number(wrong_check_digit(VALID), today=TODAY)


@pytest.mark.parametrize(
    ("id_check", "sex", "birth_date", "expected"),
    [
        (MALE_ID, Sex.MALE, BORN, []),
        (MALE_ID, "male", BORN, []),
        (MALE_ID, None, None, []),
        (MALE_ID, "", None, []),
        (FEMALE_ID, Sex.MALE, None, ["性别与身份证号不符：身份证号显示为女"]),
        (MALE_ID, "female", None, ["性别与身份证号不符：身份证号显示为男"]),
        (MALE_ID, None, date(2010, 3, 16), ["出生日期与身份证号不符：身份证号显示为2010年3月15日"]),
        (
            FEMALE_ID,
            Sex.MALE,
            date(2011, 3, 15),
            ["性别与身份证号不符：身份证号显示为女", "出生日期与身份证号不符：身份证号显示为2010年3月15日"],
        ),
        (BAD_ID, Sex.FEMALE, date(2000, 1, 1), []),
    ],
    ids=[
        "both-agree",
        "sex-as-value",
        "nothing-typed",
        "blank-sex",
        "sex-contradicts-female-id",
        "sex-contradicts-male-id",
        "birth-date-contradicts",
        "both-contradict",
        "invalid-id-compares-nothing",
    ],
)
def test_check_sex_and_birth(id_check, sex, birth_date, expected):
    assert check_sex_and_birth(id_check, sex=sex, birth_date=birth_date) == expected


# ---------------------------------------------------------------------------------------------
# age_on


@pytest.mark.parametrize(
    ("birth_date", "reference_date", "expected"),
    [
        (date(2016, 7, 31), date(2016, 7, 31), 0),
        (date(2000, 8, 1), date(2016, 7, 31), 15),
        (date(2000, 7, 31), date(2016, 7, 31), 16),
        (date(2000, 7, 30), date(2016, 7, 31), 16),
        (date(2008, 2, 29), date(2009, 2, 28), 0),
        (date(2008, 2, 29), date(2009, 3, 1), 1),
        (date(2008, 2, 29), date(2012, 2, 28), 3),
        (date(2008, 2, 29), date(2012, 2, 29), 4),
        (date(2008, 2, 29), date(2024, 2, 28), 15),
        (date(2008, 2, 29), date(2024, 2, 29), 16),
        (date(2008, 12, 31), date(2009, 1, 1), 0),
        (date(2008, 1, 1), date(2008, 12, 31), 0),
    ],
    ids=[
        "born-on-reference-date",
        "day-before-16th-birthday",
        "16th-birthday",
        "day-after-16th-birthday",
        "feb29-common-year-feb28",
        "feb29-common-year-mar1",
        "feb29-leap-year-day-before",
        "feb29-leap-year-birthday",
        "feb29-day-before-16th",
        "feb29-16th-birthday",
        "new-year",
        "end-of-first-year",
    ],
)
def test_age_on(birth_date, reference_date, expected):
    assert age_on(birth_date, reference_date) == expected


def test_age_on_born_after_reference_date_raises():
    with pytest.raises(ValueError):
        age_on(date(2016, 8, 1), date(2016, 7, 31))


# ---------------------------------------------------------------------------------------------
# classify_child

REFERENCE = date(2016, 7, 31)  # the 2016 national census
AWAY = ParentStatus.AWAY_WORKING
HOME = ParentStatus.AT_HOME

B = "both"
S = "single"
F = "父亲在家且有监护能力，不属于留守儿童"
M = "母亲在家且有监护能力，不属于留守儿童"
N = "父母均未外出务工，不属于留守儿童"

# Father's status down the side, mother's across the top, in this order.
STATUS_ORDER = [
    ParentStatus.AWAY_WORKING,
    ParentStatus.AT_HOME,
    ParentStatus.INCAPABLE,
    ParentStatus.DECEASED,
    ParentStatus.IMPRISONED,
    ParentStatus.MISSING,
    ParentStatus.DIVORCED,
]
PARENT_TABLE = {
    #                         away home incap dead prison missing divorced
    ParentStatus.AWAY_WORKING: [B, M, S, S, S, S, S],
    ParentStatus.AT_HOME: [F, N, N, N, N, N, N],
    ParentStatus.INCAPABLE: [S, N, N, N, N, N, N],
    ParentStatus.DECEASED: [S, N, N, N, N, N, N],
    ParentStatus.IMPRISONED: [S, N, N, N, N, N, N],
    ParentStatus.MISSING: [S, N, N, N, N, N, N],
    ParentStatus.DIVORCED: [S, N, N, N, N, N, N],
}
PARENT_CASES = [
    (father, mother, PARENT_TABLE[father][column])
    for father in STATUS_ORDER
    for column, mother in enumerate(STATUS_ORDER)
]


def test_parent_table_covers_every_status():
    assert (len(PARENT_CASES), set(STATUS_ORDER)) == (49, set(ParentStatus))


def _expected_child(outcome, age=10, band=AgeBand.BAND_6_13):
    if outcome == B:
        return ChildVerdict(is_left_behind=True, kind=LeftBehindType.BOTH, age=age, age_band=band)
    if outcome == S:
        return ChildVerdict(is_left_behind=True, kind=LeftBehindType.SINGLE, age=age, age_band=band)
    return ChildVerdict(is_left_behind=False, kind=None, age=age, age_band=band, reasons=(outcome,))


@pytest.mark.parametrize(
    ("father", "mother", "outcome"), PARENT_CASES, ids=[f"father_{f}-mother_{m}" for f, m, _ in PARENT_CASES]
)
def test_classify_child_parent_statuses(father, mother, outcome):
    verdict = classify_child(
        birth_date=date(2006, 1, 1), father_status=father, mother_status=mother, reference_date=REFERENCE
    )
    assert verdict == _expected_child(outcome)


def test_classify_child_accepts_plain_values():
    verdict = classify_child(
        birth_date=date(2006, 1, 1),
        father_status="away_working",
        mother_status="deceased",
        reference_date=REFERENCE,
    )
    assert verdict == _expected_child(S)


def test_classify_child_unknown_status_raises():
    with pytest.raises(ValueError):
        classify_child(
            birth_date=date(2006, 1, 1), father_status="", mother_status=AWAY, reference_date=REFERENCE
        )


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        (
            date(2000, 8, 1),
            ChildVerdict(is_left_behind=True, kind=LeftBehindType.BOTH, age=15, age_band=AgeBand.BAND_14_15),
        ),
        (
            date(2000, 7, 31),
            ChildVerdict(
                is_left_behind=False,
                kind=None,
                age=16,
                age_band=None,
                reasons=("年满16周岁，不属于留守儿童",),
            ),
        ),
        (
            date(2000, 2, 29),
            ChildVerdict(
                is_left_behind=False,
                kind=None,
                age=16,
                age_band=None,
                reasons=("年满16周岁，不属于留守儿童",),
            ),
        ),
        (
            date(2016, 7, 31),
            ChildVerdict(is_left_behind=True, kind=LeftBehindType.BOTH, age=0, age_band=AgeBand.BAND_0_5),
        ),
        (
            date(2016, 8, 1),
            ChildVerdict(
                is_left_behind=False,
                kind=None,
                age=None,
                age_band=None,
                reasons=("出生日期2016年8月1日晚于参照日期2016年7月31日，请核对出生日期",),
            ),
        ),
    ],
    ids=[
        "day-before-16th-birthday",
        "16th-birthday",
        "feb29-turned-16",
        "born-on-reference-date",
        "born-after",
    ],
)
def test_classify_child_age_boundary(birth_date, expected):
    verdict = classify_child(
        birth_date=birth_date, father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
    )
    assert verdict == expected


@pytest.mark.parametrize(
    ("reference_date", "expected_age", "left_behind"),
    [(date(2016, 2, 28), 15, True), (date(2016, 2, 29), 16, False), (date(2016, 3, 1), 16, False)],
    ids=["day-before", "leap-day-birthday", "day-after"],
)
def test_classify_child_feb29_birthday(reference_date, expected_age, left_behind):
    verdict = classify_child(
        birth_date=date(2000, 2, 29), father_status=AWAY, mother_status=AWAY, reference_date=reference_date
    )
    assert (verdict.age, verdict.is_left_behind) == (expected_age, left_behind)


def test_classify_child_every_reason_at_once():
    verdict = classify_child(
        birth_date=date(1999, 1, 1), father_status=AWAY, mother_status=HOME, reference_date=REFERENCE
    )
    assert verdict == ChildVerdict(
        is_left_behind=False,
        kind=None,
        age=17,
        age_band=None,
        reasons=("年满16周岁，不属于留守儿童", "母亲在家且有监护能力，不属于留守儿童"),
    )


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, AgeBand.BAND_0_5),
        (5, AgeBand.BAND_0_5),
        (6, AgeBand.BAND_6_13),
        (13, AgeBand.BAND_6_13),
        (14, AgeBand.BAND_14_15),
        (15, AgeBand.BAND_14_15),
    ],
)
def test_classify_child_age_band(age, band):
    birth_date = date(REFERENCE.year - age, REFERENCE.month, REFERENCE.day)
    verdict = classify_child(
        birth_date=birth_date, father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
    )
    assert (verdict.age, verdict.age_band, verdict.is_left_behind) == (age, band, True)


def test_classify_child_age_band_of_child_not_left_behind():
    verdict = classify_child(
        birth_date=date(2010, 1, 1), father_status=HOME, mother_status=HOME, reference_date=REFERENCE
    )
    assert (verdict.is_left_behind, verdict.age_band) == (False, AgeBand.BAND_6_13)


def test_classify_child_max_age_setting_raised(settings):
    settings.LEFT_BEHIND_CHILD_MAX_AGE = 18
    verdict = classify_child(
        birth_date=date(2000, 7, 31), father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
    )
    assert verdict == ChildVerdict(is_left_behind=True, kind=LeftBehindType.BOTH, age=16, age_band=None)


def test_classify_child_max_age_setting_lowered(settings):
    settings.LEFT_BEHIND_CHILD_MAX_AGE = 14
    verdict = classify_child(
        birth_date=date(2002, 7, 31), father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
    )
    assert verdict == ChildVerdict(
        is_left_behind=False,
        kind=None,
        age=14,
        age_band=AgeBand.BAND_14_15,
        reasons=("年满14周岁，不属于留守儿童",),
    )


def test_classify_child_follows_a_setting_changed_after_the_same_question(settings):
    child = dict(
        birth_date=date(2002, 7, 31), father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
    )
    assert classify_child(**child).is_left_behind  # 14 years old
    settings.LEFT_BEHIND_CHILD_MAX_AGE = 14
    assert classify_child(**child).reasons == ("年满14周岁，不属于留守儿童",)
    settings.LEFT_BEHIND_CHILD_AGE_BANDS = ((0, 2), (3, 15))
    with pytest.raises(ImproperlyConfigured):
        classify_child(**child)


def test_classify_child_age_bands_setting_without_choice_is_refused(settings):
    settings.LEFT_BEHIND_CHILD_AGE_BANDS = ((0, 2), (3, 15))
    with pytest.raises(ImproperlyConfigured):
        classify_child(
            birth_date=date(2015, 1, 1), father_status=AWAY, mother_status=AWAY, reference_date=REFERENCE
        )


# ---------------------------------------------------------------------------------------------
# classify_woman and classify_elder


def _verdict(reasons=(), age=None):
    return Verdict(is_left_behind=not reasons, age=age, reasons=tuple(reasons))


@pytest.mark.parametrize(
    ("birth_date", "months", "expected"),
    [
        (date(1996, 7, 31), 6, _verdict(age=20)),
        (date(1996, 8, 1), 6, _verdict(["未满20周岁，不属于留守妇女"], age=19)),
        (date(1956, 8, 1), 6, _verdict(age=59)),
        (date(1956, 7, 31), 6, _verdict(["年满60周岁，不属于留守妇女"], age=60)),
        (date(1980, 1, 1), 24, _verdict(age=36)),
        (date(1980, 1, 1), 5, _verdict(["丈夫外出务工不满6个月，不属于留守妇女"], age=36)),
        (date(1980, 1, 1), 0, _verdict(["丈夫未外出务工，不属于留守妇女"], age=36)),
        (date(1980, 1, 1), None, _verdict(["丈夫未外出务工，不属于留守妇女"], age=36)),
        (
            date(2000, 1, 1),
            3,
            _verdict(["未满20周岁，不属于留守妇女", "丈夫外出务工不满6个月，不属于留守妇女"], age=16),
        ),
        (
            date(2016, 8, 1),
            12,
            _verdict(["出生日期2016年8月1日晚于参照日期2016年7月31日，请核对出生日期"]),
        ),
    ],
    ids=[
        "20th-birthday",
        "day-before-20th-birthday",
        "day-before-60th-birthday",
        "60th-birthday",
        "away-two-years",
        "away-5-months",
        "husband-at-home",
        "months-blank",
        "too-young-and-too-short",
        "born-after-reference-date",
    ],
)
def test_classify_woman(birth_date, months, expected):
    assert (
        classify_woman(birth_date=birth_date, husband_months_away=months, reference_date=REFERENCE)
        == expected
    )


def test_classify_woman_min_months_setting_lowered(settings):
    settings.LEFT_BEHIND_MIN_MONTHS_AWAY = 3
    verdict = classify_woman(birth_date=date(1980, 1, 1), husband_months_away=3, reference_date=REFERENCE)
    assert verdict == _verdict(age=36)


def test_classify_woman_min_months_setting_raised(settings):
    settings.LEFT_BEHIND_MIN_MONTHS_AWAY = 12
    verdict = classify_woman(birth_date=date(1980, 1, 1), husband_months_away=6, reference_date=REFERENCE)
    assert verdict == _verdict(["丈夫外出务工不满12个月，不属于留守妇女"], age=36)


def test_classify_woman_age_settings(settings):
    settings.LEFT_BEHIND_WOMAN_MIN_AGE = 18
    settings.LEFT_BEHIND_WOMAN_MAX_AGE = 64
    young = classify_woman(birth_date=date(1998, 7, 31), husband_months_away=6, reference_date=REFERENCE)
    old = classify_woman(birth_date=date(1951, 8, 1), husband_months_away=6, reference_date=REFERENCE)
    older = classify_woman(birth_date=date(1951, 7, 31), husband_months_away=6, reference_date=REFERENCE)
    assert (young, old, older) == (
        _verdict(age=18),
        _verdict(age=64),
        _verdict(["年满65周岁，不属于留守妇女"], age=65),
    )


def test_classify_woman_negative_months_raises():
    with pytest.raises(ValueError):
        classify_woman(birth_date=date(1980, 1, 1), husband_months_away=-1, reference_date=REFERENCE)


@pytest.mark.parametrize(
    ("birth_date", "children", "away", "months", "expected"),
    [
        (date(1956, 7, 31), 3, 3, 6, _verdict(age=60)),
        (date(1956, 8, 1), 3, 3, 6, _verdict(["未满60周岁，不属于留守老人"], age=59)),
        (date(1930, 1, 1), 1, 1, 120, _verdict(age=86)),
        (date(1940, 1, 1), 3, 2, 12, _verdict(["有子女未外出务工，不属于留守老人"], age=76)),
        (date(1940, 1, 1), 2, 0, None, _verdict(["有子女未外出务工，不属于留守老人"], age=76)),
        (date(1940, 1, 1), 0, 0, None, _verdict(["无子女，不属于留守老人"], age=76)),
        (date(1940, 1, 1), 2, 2, 5, _verdict(["有子女外出务工不满6个月，不属于留守老人"], age=76)),
        (
            date(1960, 1, 1),
            2,
            1,
            3,
            _verdict(["未满60周岁，不属于留守老人", "有子女未外出务工，不属于留守老人"], age=56),
        ),
    ],
    ids=[
        "60th-birthday",
        "day-before-60th-birthday",
        "one-child-away-ten-years",
        "one-child-at-home",
        "no-child-away",
        "no-children",
        "a-child-away-5-months",
        "too-young-and-child-at-home",
    ],
)
def test_classify_elder(birth_date, children, away, months, expected):
    verdict = classify_elder(
        birth_date=birth_date,
        children_count=children,
        children_away_count=away,
        min_months_away_of_children=months,
        reference_date=REFERENCE,
    )
    assert verdict == expected


def test_classify_elder_min_age_setting_raised(settings):
    settings.LEFT_BEHIND_ELDER_MIN_AGE = 65
    verdict = classify_elder(
        birth_date=date(1955, 1, 1),
        children_count=2,
        children_away_count=2,
        min_months_away_of_children=12,
        reference_date=REFERENCE,
    )
    assert verdict == _verdict(["未满65周岁，不属于留守老人"], age=61)


def test_classify_elder_min_months_setting_lowered(settings):
    settings.LEFT_BEHIND_MIN_MONTHS_AWAY = 3
    verdict = classify_elder(
        birth_date=date(1940, 1, 1),
        children_count=2,
        children_away_count=2,
        min_months_away_of_children=3,
        reference_date=REFERENCE,
    )
    assert verdict == _verdict(age=76)


@pytest.mark.parametrize(
    ("children", "away", "months"),
    [(2, 3, 12), (-1, 0, None), (2, -1, None), (2, 1, None)],
    ids=["more-away-than-children", "negative-children", "negative-away", "away-without-months"],
)
def test_classify_elder_inconsistent_counts_raise(children, away, months):
    with pytest.raises(ValueError):
        classify_elder(
            birth_date=date(1940, 1, 1),
            children_count=children,
            children_away_count=away,
            min_months_away_of_children=months,
            reference_date=REFERENCE,
        )


# ---------------------------------------------------------------------------------------------
# child_red_flags

SAFE = {
    "guardianship_type": GuardianshipType.GRANDPARENT,
    "guardian_assessment": GuardianAssessment.GOOD,
    "health": HealthStatus.HEALTHY,
    "schooling": Schooling.PRIMARY,
    "father_status": ParentStatus.AWAY_WORKING,
    "mother_status": ParentStatus.AWAY_WORKING,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ()),
        ({"guardianship_type": GuardianshipType.NONE}, ("无人监护",)),
        ({"guardian_assessment": GuardianAssessment.NONE}, ("无人监护",)),
        (
            {"guardianship_type": GuardianshipType.NONE, "guardian_assessment": GuardianAssessment.NONE},
            ("无人监护",),
        ),
        ({"guardian_assessment": GuardianAssessment.PARENT_INCAPABLE}, ("监护人无监护能力",)),
        ({"guardian_assessment": GuardianAssessment.ENTRUSTED_INSUFFICIENT}, ("监护人无监护能力",)),
        ({"guardian_assessment": GuardianAssessment.FAIR}, ()),
        ({"guardianship_type": GuardianshipType.ENTRUSTED}, ()),
        ({"guardianship_type": GuardianshipType.ONE_PARENT}, ()),
        ({"health": HealthStatus.SERIOUSLY_ILL}, ("重病/残疾",)),
        ({"health": HealthStatus.DISABLED}, ("重病/残疾",)),
        ({"health": HealthStatus.ILL}, ()),
        ({"schooling": Schooling.DROPPED_OUT}, ("辍学",)),
        ({"schooling": Schooling.NOT_IN_SCHOOL}, ()),
        ({"schooling": Schooling.NOT_ENROLLED}, ()),
        ({"father_status": ParentStatus.MISSING, "mother_status": ParentStatus.MISSING}, ("父母均失联",)),
        ({"father_status": ParentStatus.MISSING}, ()),
        ({"mother_status": ParentStatus.MISSING}, ()),
        (
            {
                "guardianship_type": GuardianshipType.NONE,
                "guardian_assessment": GuardianAssessment.PARENT_INCAPABLE,
                "health": HealthStatus.DISABLED,
                "schooling": Schooling.DROPPED_OUT,
                "father_status": ParentStatus.MISSING,
                "mother_status": ParentStatus.MISSING,
            },
            ("无人监护", "监护人无监护能力", "重病/残疾", "辍学", "父母均失联"),
        ),
        (
            {"guardian_assessment": "none", "health": "seriously_ill", "schooling": "dropped_out"},
            ("无人监护", "重病/残疾", "辍学"),
        ),
        ({key: None for key in SAFE}, ()),
        ({key: "" for key in SAFE}, ()),
    ],
    ids=[
        "none",
        "guardianship-none",
        "assessment-none",
        "type-and-assessment-none",
        "assessment-parent-incapable",
        "assessment-entrusted-insufficient",
        "assessment-fair",
        "entrusted",
        "one-parent",
        "seriously-ill",
        "disabled",
        "ill",
        "dropped-out",
        "not-in-school",
        "not-enrolled",
        "both-parents-missing",
        "father-missing",
        "mother-missing",
        "every-flag",
        "plain-values",
        "all-blank-none",
        "all-blank-empty",
    ],
)
def test_child_red_flags(changes, expected):
    assert child_red_flags(**{**SAFE, **changes}) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, False),
        ({"guardianship_type": GuardianshipType.NONE}, True),
        ({"health": HealthStatus.ILL}, False),
    ],
    ids=["safe", "no-guardian", "ill"],
)
def test_is_high_risk(changes, expected):
    assert is_high_risk(**{**SAFE, **changes}) is expected
