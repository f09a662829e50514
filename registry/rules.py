"""The registry's rules (DESIGN §2), as plain functions the forms, the Excel import and the
management commands all call, so each rule exists once.

- ID numbers: :func:`normalize_id_number`, :func:`check_id_number`, :func:`id_county_warnings`,
  :func:`check_sex_and_birth`.
- Who counts: :func:`classify_child`, :func:`classify_woman`, :func:`classify_elder`.
- Who needs help at once: :func:`child_red_flags`, :func:`is_high_risk`.

Thresholds are Django settings (``LEFT_BEHIND_*``), read at call time. Messages are in plain
Chinese, for the person typing. Nothing here touches the database.
"""

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from stdnum import numdb
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

# ---------------------------------------------------------------------------------------------
# Resident ID numbers (公民身份号码, GB 11643)

ID_LENGTH = 18
# Characters Excel and WeChat copies carry that str.isspace() does not know.
# Characters that are invisible in a cell or a form field and are dropped from ID numbers and
# phone numbers (the roster's normaliser drops them from every cell: registry/roster/normalize.py).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ID_FORMAT = re.compile(r"[0-9]*[0-9X]")
_EARLIEST_BIRTH = datetime.date(1900, 1, 1)
_REGION_PERIOD = re.compile(r"\[(\d*)-(\d*)\](.*)")


def normalize_id_number(raw):
    """The ID number as typed or imported, cleaned: full-width characters to ASCII (NFKC),
    every kind of whitespace and zero-width character removed, ``x`` upper-cased.

    ``None`` gives ``""``; a number (an Excel cell) is turned into its text first.
    """
    if raw is None:
        return ""
    if raw.__class__ is str and raw.isascii():
        # NFKC leaves ASCII as it is and it has no zero-width characters: only whitespace goes
        # (most numbers, typed or imported, and the blank phone fields of most rows).
        return (raw if raw.isalnum() else "".join(raw.split())).upper()
    text = unicodedata.normalize("NFKC", str(raw))
    return "".join(ch for ch in text if not ch.isspace() and ch not in INVISIBLE).upper()


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one ID number.

    ``number`` is always the normalised text; ``birth_date`` and ``sex`` (a :class:`Sex`)
    are derived only from a number without errors, else None. Warnings do not block saving.
    """

    number: str
    birth_date: datetime.date | None = None
    sex: Sex | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self):
        return not self.errors


def check_id_number(raw, *, today=None):
    """Check an 18-character resident ID: length, format, checksum (ISO 7064 MOD 11-2), a
    real birth date not after ``today`` (default: today in Asia/Shanghai), and the region code.

    A region code missing from python-stdnum's table is only a warning: the table lags
    behind real codes (410971, 410972 …), and stdnum raises KeyError on some of them. The
    checksum (stdnum's calc_check_digit) and the date are checked here, so a region problem never
    hides them.

    The verdict (immutable) is remembered for the last :data:`ID_CHECKS_KEPT` numbers and days:
    an import checks each number when judging its row and again when deriving the record.
    """
    return _check_id_number(raw, today or timezone.localdate())


ID_CHECKS_KEPT = 20_000


@functools.lru_cache(maxsize=ID_CHECKS_KEPT)
def _check_id_number(raw, today):
    number = normalize_id_number(raw)
    if not number:
        return IdCheck(number=number, errors=("请填写身份证号",))

    errors = []
    if len(number) != ID_LENGTH:
        message = f"身份证号应为18位，当前为{len(number)}位"
        if len(number) == 15 and number.isdigit() and number.isascii():
            message += "（旧版15位身份证号请换为18位）"
        errors.append(message)
    if not _ID_FORMAT.fullmatch(number):
        errors.append("身份证号只能包含数字，最后一位可以是X")
    if errors:
        return IdCheck(number=number, errors=tuple(errors))

    if number[-1] != ric.calc_check_digit(number):
        errors.append("身份证号校验位错误，请核对最后一位")
    birth_date = _id_birth_date(number, today, errors)
    warnings = _region_warnings(number[:6], birth_date)
    if errors:
        return IdCheck(number=number, errors=tuple(errors), warnings=warnings)
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return IdCheck(number=number, birth_date=birth_date, sex=sex, warnings=warnings)


def _id_birth_date(number, today, errors):
    """The birth date in digits 7–14, or None after appending why it is wrong to ``errors``."""
    digits = number[6:14]
    try:
        # stdnum's ric.get_birth_date, less its compact() of a number normalised already
        birth_date = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:  # an impossible date
        errors.append(f"身份证号中的出生日期 {digits} 不存在")
        return None
    if birth_date > today:
        errors.append(f"身份证号中的出生日期 {digits} 晚于今天")
        return None
    if birth_date < _EARLIEST_BIRTH:
        errors.append(f"身份证号中的出生日期 {digits} 早于1900年，请核对")
        return None
    return birth_date


@functools.lru_cache(maxsize=4096)
def _region_counties(code):
    """The county entries (name[start-end]) of a 6-digit code in stdnum's table; () if unknown.
    Cached: a roster repeats a few dozen codes thousands of times."""
    try:
        info = {key: value for _part, props in numdb.get("cn/loc").info(code) for key, value in props.items()}
        return tuple(county for county in info.get("county", "").split(",") if county)
    except Exception:  # whatever the table lookup raises, the code is not known
        return ()


def _region_warnings(code, birth_date):
    """Warnings about the 6-digit region code, from stdnum's table of division codes.

    A code created after the birth year is normal (numbers are issued later, people move);
    a code withdrawn before the person was born is suspicious; an unknown code more so.
    """
    return _region_warnings_in(code, birth_date.year if birth_date else None)


@functools.lru_cache(maxsize=4096)
def _region_warnings_in(code, birth_year):
    """:func:`_region_warnings` by birth year (None: unknown), remembered like the table."""
    counties = _region_counties(code)
    if not counties:
        return (f"身份证号前6位地区码 {code} 不在国家区划代码表中，请核对",)
    if birth_year is None:
        return ()
    last_end = None
    for county in counties:
        match = _REGION_PERIOD.fullmatch(county)
        if not match or not match.group(2) or int(match.group(2)) >= birth_year:
            return ()  # in use, without an end date, or still in use in the birth year
        last_end = max(last_end or 0, int(match.group(2)))
    return (f"身份证号前6位地区码 {code} 已于{last_end}年停用，早于出生年份{birth_year}年，请核对",)


def id_county_warnings(number, village_code):
    """A warning when a valid ID number's county (its first 6 digits) is not the county of the
    village the person is registered in — a 南乐县 number for a 清丰县 village.

    :func:`check_id_number` judges the number alone: its region code only has to exist in the
    national table (and be in use when the person was born), so another county's code, of this
    city or any other, passes it. This compares it with the village. A warning, never a refusal:
    people move and keep their number.
    """
    if len(number) != ID_LENGTH or not village_code or number[:6] == village_code[:6]:
        return ()
    return _id_county_warnings(number[:6], village_code[:6])


@functools.lru_cache(maxsize=4096)
def _id_county_warnings(code, county):
    def named(c):
        name = _county_name(c)
        return f"{c}（{name}）" if name else c

    return (
        f"身份证号地区码 {named(code)} 与所在村的县（区）{named(county)} 不一致："
        "迁入人员可照常保存，否则请核对",
    )


def _county_name(code):
    """The county's current name in stdnum's table ("[2002-]华龙区" → 华龙区), or ""."""
    counties = _region_counties(code)
    if not counties:
        return ""
    match = _REGION_PERIOD.fullmatch(counties[-1])
    return match.group(3) if match else counties[-1]


def check_sex_and_birth(id_check, sex=None, birth_date=None):
    """Errors where a typed sex or birth date contradicts a valid ID number.

    Nothing is compared with an invalid number: its own errors say what is wrong.
    """
    if not id_check.ok:
        return []
    errors = []
    if sex and Sex(sex) != id_check.sex:
        errors.append(f"性别与身份证号不符：身份证号显示为{id_check.sex.label}")
    if birth_date and birth_date != id_check.birth_date:
        errors.append(f"出生日期与身份证号不符：身份证号显示为{_chinese_date(id_check.birth_date)}")
    return errors


def _chinese_date(day):
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------------------------------------
# Who counts as left behind


def age_on(birth_date, reference_date):
    """Age in full years (周岁) on ``reference_date``.

    A birthday counts from the day itself; someone born on 29 February turns a year older
    on 1 March in a common year. Raises ValueError if born after the reference date.
    """
    if birth_date > reference_date:
        raise ValueError("出生日期晚于参照日期")
    before_birthday = (reference_date.month, reference_date.day) < (birth_date.month, birth_date.day)
    return reference_date.year - birth_date.year - before_birthday


@dataclass(frozen=True)
class ChildVerdict:
    """Whether a child is a left-behind child, of which kind, and if not, why not.

    ``age`` is None when the birth date lies after the reference date; ``age_band`` is the
    reporting band of that age (None above the bands), whatever the verdict.
    """

    is_left_behind: bool
    kind: LeftBehindType | None
    age: int | None
    age_band: AgeBand | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Whether a woman or an elder counts as left behind, and if not, why not."""

    is_left_behind: bool
    age: int | None
    reasons: tuple[str, ...] = ()


# A parent who is neither away nor at home able to care: the other parent's absence alone
# leaves the child without parental care (DESIGN §2: 无监护能力, and absent for good).
_PARENT_UNABLE = {
    ParentStatus.INCAPABLE,
    ParentStatus.DECEASED,
    ParentStatus.IMPRISONED,
    ParentStatus.MISSING,
    ParentStatus.DIVORCED,
}


def classify_child(*, birth_date, father_status, mother_status, reference_date):
    """Classify a child on the campaign's reference date.

    A left-behind child is younger than ``LEFT_BEHIND_CHILD_MAX_AGE`` with both parents
    away working (双亲留守), or one away and the other unable to care (单亲留守).

    The verdict (immutable) is remembered for the last :data:`ID_CHECKS_KEPT` questions, the
    settings it depends on among them: an import classifies each child when judging its row
    and again when deriving the record.
    """
    return _classify_child(
        birth_date,
        father_status,
        mother_status,
        reference_date,
        settings.LEFT_BEHIND_CHILD_MAX_AGE,
        tuple(map(tuple, settings.LEFT_BEHIND_CHILD_AGE_BANDS)),
    )


@functools.lru_cache(maxsize=ID_CHECKS_KEPT)
def _classify_child(birth_date, father_status, mother_status, reference_date, max_age, age_bands):
    father, mother = ParentStatus(father_status), ParentStatus(mother_status)
    reasons = []
    age = _age_or_reason(birth_date, reference_date, reasons)
    if age is not None and age >= max_age:
        reasons.append(f"年满{max_age}周岁，不属于留守儿童")

    away = ParentStatus.AWAY_WORKING
    kind = None
    if father == away and mother == away:
        kind = LeftBehindType.BOTH
    elif father != away and mother != away:
        reasons.append("父母均未外出务工，不属于留守儿童")
    elif (father if mother == away else mother) in _PARENT_UNABLE:
        kind = LeftBehindType.SINGLE
    else:
        reasons.append(f"{'父亲' if mother == away else '母亲'}在家且有监护能力，不属于留守儿童")

    return ChildVerdict(
        is_left_behind=not reasons,
        kind=None if reasons else kind,
        age=age,
        age_band=None if age is None else age_band(age),
        reasons=tuple(reasons),
    )


def birth_date_range(low, high, on):
    """Birth dates of people aged ``low``..``high`` full years on ``on``: (after, on_or_before)."""

    def years_before(years):
        try:
            return on.replace(year=on.year - years)
        except ValueError:  # 29 February: who was born on 28 February has had their birthday
            return datetime.date(on.year - years, 2, 28)

    return years_before(high + 1), years_before(low)


def age_band(age):
    """The reporting band (:class:`AgeBand`) of an age, or None outside every band."""
    for low, high in settings.LEFT_BEHIND_CHILD_AGE_BANDS:
        if low <= age <= high:
            try:
                return AgeBand(f"{low}_{high}")
            except ValueError:
                raise ImproperlyConfigured(
                    f"LEFT_BEHIND_CHILD_AGE_BANDS 中的 ({low}, {high}) 没有对应的 AgeBand 选项。"
                ) from None
    return None


# Counts of a woman's or an elder's children that cannot exceed the number of children: said by
# the forms on the field, and by the database's check constraints (registry/models.py).
MINOR_CHILDREN_EXCEED = "未成年子女数不能多于子女数"
CHILDREN_AWAY_EXCEED = "外出子女数不能多于子女数"


def classify_woman(*, birth_date, husband_months_away, reference_date, sex=None):
    """Classify a married woman: aged ``LEFT_BEHIND_WOMAN_MIN_AGE``–``MAX_AGE`` with her
    husband away working at least ``LEFT_BEHIND_MIN_MONTHS_AWAY`` months (0 or None: not away).
    ``sex`` (when known) must be female.
    """
    reasons = []
    if sex == Sex.MALE:
        reasons.append("留守妇女应为女性")
    age = _age_or_reason(birth_date, reference_date, reasons)
    min_age, max_age = settings.LEFT_BEHIND_WOMAN_MIN_AGE, settings.LEFT_BEHIND_WOMAN_MAX_AGE
    if age is not None and age < min_age:
        reasons.append(f"未满{min_age}周岁，不属于留守妇女")
    if age is not None and age > max_age:
        reasons.append(f"年满{max_age + 1}周岁，不属于留守妇女")

    min_months = settings.LEFT_BEHIND_MIN_MONTHS_AWAY
    if husband_months_away is not None and husband_months_away < 0:
        raise ValueError("丈夫外出务工月数不能为负数")
    if not husband_months_away:
        reasons.append("丈夫未外出务工，不属于留守妇女")
    elif husband_months_away < min_months:
        reasons.append(f"丈夫外出务工不满{min_months}个月，不属于留守妇女")
    return Verdict(is_left_behind=not reasons, age=age, reasons=tuple(reasons))


def classify_elder(
    *, birth_date, children_count, children_away_count, min_months_away_of_children, reference_date
):
    """Classify an elder: aged ``LEFT_BEHIND_ELDER_MIN_AGE`` or more, all of whose children
    have been away working at least ``LEFT_BEHIND_MIN_MONTHS_AWAY`` months.

    ``min_months_away_of_children`` is the shortest time away among the children who are
    away; None only when none is. Inconsistent counts raise ValueError (the form says so first).
    """
    if children_count < 0 or not 0 <= children_away_count <= children_count:
        raise ValueError("外出务工子女数应在0与子女数之间")
    if children_away_count and min_months_away_of_children is None:
        raise ValueError("有子女外出务工时须填写外出务工月数")

    reasons = []
    age = _age_or_reason(birth_date, reference_date, reasons)
    min_age = settings.LEFT_BEHIND_ELDER_MIN_AGE
    if age is not None and age < min_age:
        reasons.append(f"未满{min_age}周岁，不属于留守老人")

    min_months = settings.LEFT_BEHIND_MIN_MONTHS_AWAY
    if children_count == 0:
        reasons.append("无子女，不属于留守老人")
    elif children_away_count < children_count:
        reasons.append("有子女未外出务工，不属于留守老人")
    elif min_months_away_of_children < min_months:
        reasons.append(f"有子女外出务工不满{min_months}个月，不属于留守老人")
    return Verdict(is_left_behind=not reasons, age=age, reasons=tuple(reasons))


def _age_or_reason(birth_date, reference_date, reasons):
    """The age on the reference date, or None after appending why there is none."""
    if birth_date > reference_date:
        reasons.append(
            f"出生日期{_chinese_date(birth_date)}晚于参照日期{_chinese_date(reference_date)}，请核对出生日期"
        )
        return None
    return age_on(birth_date, reference_date)


# ---------------------------------------------------------------------------------------------
# Red flags: a child with any of them is high-risk and surfaces at once (强制报告)

FLAG_NO_GUARDIAN = "无人监护"
FLAG_GUARDIAN_INCAPABLE = "监护人无监护能力"
FLAG_ILL_OR_DISABLED = "重病/残疾"
FLAG_DROPPED_OUT = "辍学"
FLAG_PARENTS_MISSING = "父母均失联"

_ASSESSMENT_INCAPABLE = {GuardianAssessment.PARENT_INCAPABLE, GuardianAssessment.ENTRUSTED_INSUFFICIENT}
_HEALTH_SERIOUS = {HealthStatus.SERIOUSLY_ILL, HealthStatus.DISABLED}


@functools.lru_cache(maxsize=4096)
def child_red_flags(
    *, guardianship_type, guardian_assessment, health, schooling, father_status, mother_status
):
    """The red flags of a child, in a fixed order, as Chinese labels; empty when none.

    A value left blank (None or "") raises no flag. Remembered (a few hundred combinations
    occur): an import derives thousands of records.
    """
    flags = []
    if guardianship_type == GuardianshipType.NONE or guardian_assessment == GuardianAssessment.NONE:
        flags.append(FLAG_NO_GUARDIAN)
    if guardian_assessment in _ASSESSMENT_INCAPABLE:
        flags.append(FLAG_GUARDIAN_INCAPABLE)
    if health in _HEALTH_SERIOUS:
        flags.append(FLAG_ILL_OR_DISABLED)
    if schooling == Schooling.DROPPED_OUT:
        flags.append(FLAG_DROPPED_OUT)
    if father_status == ParentStatus.MISSING and mother_status == ParentStatus.MISSING:
        flags.append(FLAG_PARENTS_MISSING)
    return tuple(flags)


def is_high_risk(**child):
    """Whether a child has any red flag; takes :func:`child_red_flags`' keyword arguments."""
    return bool(child_red_flags(**child))


# ---------------------------------------------------------------------------------------------
# Phone numbers

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


def normalize_phone(raw):
    """A phone number as typed or imported, cleaned like an ID number; an Excel float's ``.0`` dropped."""
    text = normalize_id_number(raw)
    return text[:-2] if text.endswith(".0") else text


def check_phone(raw):
    """(number, error): a mainland mobile (11 digits) or a landline with area code; blank is fine."""
    number = normalize_phone(raw)
    if number and not (_MOBILE.fullmatch(number) or _LANDLINE.fullmatch(number)):
        return number, "电话号码格式不正确：手机号为11位数字，固定电话请带区号（如 0393-1234567）"
    return number, None
