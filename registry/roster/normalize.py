"""Cell values of real rosters, turned into what the entry form expects.

Each function takes a raw cell (str, float, int, bool, date, datetime or None, as
python-calamine or csv give them) and returns the cleaned value, or raises
:class:`CellError` with a message in plain Chinese naming what was not understood.
"""

import datetime
import functools
import re
import unicodedata

from registry import rules
from registry.choices import (
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    LivingArrangement,
    ParentStatus,
    Schooling,
    Sex,
)

CONTROL_CHARACTERS = "{column}含有不可见的控制字符，请删除后重新填写"
TOO_LONG = "{column}超过{limit}个字的长度上限（现为{length}个字）"
ID_AS_NUMBER = "身份证号被 Excel 存成了数字，后几位已丢失，无法恢复：请把该列设为文本后重新填写"

_INVISIBLE = re.compile(f"[{rules.INVISIBLE}]")
# C0 and C1 control characters and DEL. Tab, line feed and carriage return are whitespace (an
# Alt+Enter line break inside an Excel cell) and are collapsed to a space like any other.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SCIENTIFIC = re.compile(r"\d+(\.\d+)?E\+?\d+")
_TEXT_DATE = re.compile(
    r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?(\s+\d{1,2}:\d{2}(:\d{2})?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Words that start a line which is not a person: totals, notes, signatures.
_NOT_DATA = re.compile(r"(合计|总计|小计|共计|注[:：.、\d]|注$|说明[:：]|填表人|审核人|负责人|填报人)")


class CellError(ValueError):
    """A cell that cannot be understood; ``str()`` is the message for the person."""


def _number_text(value):
    """A float that holds an integer as its digits ("17780490636.0" → "17780490636")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_control(value, column):
    """Refuse a text cell that carries control characters (pasted from other systems, or a
    crafted file): they are invisible on screen and break exports and other programs."""
    if isinstance(value, str) and _CONTROL.search(value):
        raise CellError(CONTROL_CHARACTERS.format(column=column))


def check_length(value, limit, column):
    """Refuse a cleaned text longer than the model field's ``max_length``."""
    if limit and isinstance(value, str) and len(value) > limit:
        raise CellError(TOO_LONG.format(column=column, limit=limit, length=len(value)))


_COUNT = re.compile(r"(\d+)\s*(个月|月|人|个|名|位|岁)?")


def count(value, label):
    """A whole number (months, children): 3, 3.0, "３", "3个月"; None if blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(f"{label}“{text(value)}”无法识别，请填写数字")
    if isinstance(value, float | int):
        if value == int(value) and value >= 0:
            return int(value)
        raise CellError(f"{label}“{_number_text(value)}”无法识别，请填写整数")
    raw = name(value)
    if not raw:
        return None
    if raw.endswith(".0") and raw[:-2].isdigit():
        raw = raw[:-2]
    match = _COUNT.fullmatch(raw)
    if match is None:
        raise CellError(f"{label}“{raw}”无法识别，请填写数字")
    return int(match[1])


def text(value):
    """Free text: NFKC (full-width → ASCII), no zero-width characters, spaces collapsed."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int):
        value = _number_text(value)
    elif isinstance(value, datetime.datetime | datetime.date):
        value = value.strftime("%Y-%m-%d")
    value = _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(value)))
    return " ".join(value.split())


def name(value):
    """A person's name: like :func:`text`, and spaces inside it dropped (张 三 → 张三)."""
    return "".join(text(value).split())


def is_skipped(cells):
    """Whether a data row is blank, or a total / note / signature line rather than a person:
    judged by its first cell with visible text."""
    for cell in cells:
        if cell is None or cell == "":
            continue
        first = text(cell)
        if first:
            return bool(_NOT_DATA.match("".join(first.split())))
    return True


def id_number(value):
    """The ID number's text, refusing a number that Excel has already rounded."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise CellError(ID_AS_NUMBER)
    number = rules.normalize_id_number(value)
    if _SCIENTIFIC.fullmatch(number):
        raise CellError(ID_AS_NUMBER)
    if number.endswith(".0") and number[:-2].isdigit():
        raise CellError(ID_AS_NUMBER)
    # Fifteen significant digits survive a float: an 18-digit number ending in 000 that fails
    # its checksum is one that went through a number cell (a valid ID may end in 000).
    if len(number) == 18 and number.isdigit() and number.endswith("000"):
        if not rules.check_id_number(number).ok:
            raise CellError(ID_AS_NUMBER)
    return number


def phone(value):
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = _number_text(value)
    return rules.normalize_phone(value)


def date(value, label="出生日期"):
    """A date from a date cell, an Excel serial number or text in the usual ways; None if blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = int(value)
        if 10_000_000 <= number <= 99_999_999:
            value = str(number)
        elif 1 <= number < 100_000 and number == value:
            return _EXCEL_EPOCH + datetime.timedelta(days=number)
    raw = text(value)
    if not raw:
        return None
    match = _TEXT_DATE.fullmatch(raw) or _COMPACT_DATE.fullmatch(raw)
    if match:
        try:
            return datetime.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise CellError(f"{label}“{raw}”无法识别，请写成 2012-03-05 这样的日期")


def _table(choices, extra):
    table = {}
    for value, label in choices.choices:
        table[label] = value
        table[value] = value
    for value, variants in extra.items():
        for variant in variants:
            table[variant] = value
    return table


CHOICES = {
    "sex": _table(Sex, {Sex.MALE: ["男性", "M"], Sex.FEMALE: ["女性", "F"]}),
    "father_status": _table(
        ParentStatus,
        {
            ParentStatus.AWAY_WORKING: [
                "外出",
                "务工",
                "外出打工",
                "打工",
                "在外务工",
                "外地务工",
                "外出务工中",
            ],
            ParentStatus.AT_HOME: ["在家", "在家务农", "务农", "在本地", "在家务工", "返乡"],
            ParentStatus.INCAPABLE: ["无能力", "重病", "重残", "残疾", "丧失监护能力"],
            ParentStatus.DECEASED: ["去世", "已故", "病故", "亡故", "已去世"],
            ParentStatus.IMPRISONED: ["在押", "服刑中", "坐牢"],
            ParentStatus.MISSING: ["下落不明", "失踪", "联系不上"],
            ParentStatus.DIVORCED: ["离婚", "离异再婚", "改嫁"],
        },
    ),
    "guardianship_type": _table(
        GuardianshipType,
        {
            GuardianshipType.GRANDPARENT: [
                "祖辈",
                "祖父母",
                "爷爷奶奶",
                "外祖父母",
                "祖父母监护",
                "隔代监护",
            ],
            GuardianshipType.RELATIVE: ["亲属", "其他亲属", "其他亲属监护"],
            GuardianshipType.ENTRUSTED: ["委托", "受委托监护"],
            GuardianshipType.ONE_PARENT: ["父母一方", "父亲监护", "母亲监护", "单亲监护", "父亲", "母亲"],
            GuardianshipType.NONE: ["无人", "无监护人", "无"],
        },
    ),
    "guardian_relation": _table(
        GuardianRelation,
        {
            GuardianRelation.GRANDPARENT: ["祖父", "祖母", "爷爷", "奶奶", "祖孙", "爷孙", "奶孙"],
            GuardianRelation.MATERNAL_GRANDPARENT: ["外祖父", "外祖母", "外公", "外婆", "姥爷", "姥姥"],
            GuardianRelation.FATHER: ["父", "父子", "父女", "爸爸"],
            GuardianRelation.MOTHER: ["母", "母子", "母女", "妈妈"],
            GuardianRelation.SIBLING: ["哥哥", "姐姐", "兄", "姐", "兄妹", "姐弟", "兄弟", "姐妹"],
            GuardianRelation.RELATIVE: ["亲属", "叔叔", "伯父", "姑姑", "舅舅", "姨", "姨妈", "叔侄", "姑侄"],
        },
    ),
    "health": _table(
        HealthStatus,
        {
            HealthStatus.HEALTHY: ["良好", "正常", "健康良好"],
            HealthStatus.ILL: ["疾病", "有病", "一般疾病"],
            HealthStatus.SERIOUSLY_ILL: ["大病", "重大疾病"],
        },
    ),
    "schooling": _table(
        Schooling,
        {
            Schooling.KINDERGARTEN: ["学前", "在园"],
            Schooling.NOT_ENROLLED: ["未入学", "学龄前"],
            Schooling.VOCATIONAL: ["职高", "中专", "技校"],
            Schooling.NOT_IN_SCHOOL: ["未上学", "不在校"],
        },
    ),
    "guardian_assessment": _table(
        GuardianAssessment,
        {
            GuardianAssessment.GOOD: ["较好", "良好", "好"],
            GuardianAssessment.FAIR: ["一般"],
            GuardianAssessment.PENDING: ["未评估", "待定", "未知"],
        },
    ),
}
CHOICES["living_arrangement"] = _table(
    LivingArrangement,
    {
        LivingArrangement.ALONE: ["独自居住", "一人居住", "单独居住", "独居老人"],
        LivingArrangement.WITH_SPOUSE: ["与配偶", "与配偶居住", "夫妻同住", "与老伴同住", "老两口"],
        LivingArrangement.WITH_GRANDCHILDREN: ["与孙辈", "与孙子女同住", "隔代同住", "带孙辈"],
        LivingArrangement.WITH_RELATIVES: ["与亲属同住", "与其他亲属", "亲属照料"],
        LivingArrangement.CARE_FACILITY: ["养老机构", "敬老院", "养老院", "幸福院", "入住敬老院"],
    },
)
CHOICES["mother_status"] = CHOICES["father_status"]
_LABELS = {
    "sex": Sex,
    "father_status": ParentStatus,
    "mother_status": ParentStatus,
    "guardianship_type": GuardianshipType,
    "guardian_relation": GuardianRelation,
    "health": HealthStatus,
    "schooling": Schooling,
    "guardian_assessment": GuardianAssessment,
    "living_arrangement": LivingArrangement,
}


def choice(field, value, label):
    """The stored value of a choice cell (label, short form or value); "" if blank."""
    raw = name(value)
    if not raw:
        return ""
    found = CHOICES[field].get(raw) or CHOICES[field].get(raw.lower())
    if found is None:
        allowed = "、".join(_LABELS[field].labels)
        raise CellError(f"{label}“{raw}”无法识别，可填：{allowed}")
    return str(found)


def boolean(value, label):
    raw = name(value)
    if raw in ("", "否", "不", "无", "0", "N", "n", "False", "FALSE"):
        return False
    if raw in ("是", "寄宿", "住校", "1", "Y", "y", "True", "TRUE", "√"):
        return True
    raise CellError(f"{label}“{raw}”无法识别，请填“是”或“否”")


_GRADE_SCHOOLING = [
    (re.compile(r"中职|职高|中专|技校"), Schooling.VOCATIONAL),
    (re.compile(r"高[一二三]|高中"), Schooling.SENIOR),
    (re.compile(r"初[一二三]|初中|[七八九]年级"), Schooling.JUNIOR),
    (re.compile(r"[一二三四五六1-6]年级|小学"), Schooling.PRIMARY),
    (re.compile(r"幼儿园|[大中小]班|学前"), Schooling.KINDERGARTEN),
    (re.compile(r"辍学"), Schooling.DROPPED_OUT),
]


def schooling_from(grade, school):
    """The 就学情况 a 年级 or 学校 names (初二 → 初中), or "" when neither says."""
    return _schooling_named(grade) or _schooling_named(school)


@functools.lru_cache(maxsize=4096)
def _schooling_named(text):
    """The 就学情况 ``text`` names, or "": remembered (a roster repeats its grades and schools)."""
    if text:
        for pattern, value in _GRADE_SCHOOLING:
            if pattern.search(text):
                return str(value)
    return ""
