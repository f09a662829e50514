"""Find the header row of a roster and name its columns.

Real files put a merged title, a 填报单位/日期 line and sometimes notes above the header, and
group columns under a two-level merged header (监护人情况 over 姓名 / 与儿童关系 / 联系电话;
父亲情况 over 姓名 / 状况 / 务工地). python-calamine gives a merged cell as its value in the
first cell and empty cells after it, so a group label is carried across the empty cells to
its right, and a single header merged over both rows is read from the upper row.
"""

import re
import unicodedata
from dataclasses import dataclass

# How far down the header may be, and how many known columns make a row a header.
HEADER_SEARCH_ROWS = 30
MIN_HEADER_COLUMNS = 3

# The canonical children's columns (issue 5), in template order, then optional extras
# the entry form also knows.
CHILD_COLUMNS = [
    "序号", "姓名", "性别", "身份证号", "出生日期", "县(区)", "乡镇(街道)", "村(社区)", "村代码", "民族",
    "就读学校", "年级", "健康状况", "监护类型", "监护人姓名", "与儿童关系", "监护人电话",
    "父亲姓名", "父亲状况", "父亲务工地", "母亲姓名", "母亲状况", "母亲务工地", "备注",
]  # fmt: skip
CHILD_EXTRA_COLUMNS = [
    "就学情况", "是否寄宿", "监护评估", "监护人身份证号", "父亲身份证号", "父亲电话",
    "母亲身份证号", "母亲电话", "户籍所在地", "现居住地",
]  # fmt: skip
# Women's and elders' columns (issue 5: "likewise from their models"), in template order,
# then the optional extras their entry forms also know.
WOMAN_COLUMNS = [
    "序号", "姓名", "性别", "身份证号", "出生日期", "县(区)", "乡镇(街道)", "村(社区)", "村代码", "民族",
    "联系电话", "健康状况", "丈夫姓名", "丈夫务工地", "丈夫外出月数", "丈夫电话", "子女数",
    "未成年子女数", "备注",
]  # fmt: skip
ELDER_COLUMNS = [
    "序号", "姓名", "性别", "身份证号", "出生日期", "县(区)", "乡镇(街道)", "村(社区)", "村代码", "民族",
    "联系电话", "健康状况", "居住情况", "子女数", "外出子女数", "子女外出最短月数", "照料人姓名",
    "照料人电话", "收入来源", "备注",
]  # fmt: skip
PERSON_EXTRA_COLUMNS = ["户籍所在地", "现居住地", "残疾类别", "残疾等级", "所患疾病", "主要需求"]

# Variants seen in village files → canonical name (compared after :func:`clean_header`).
_ALIASES = {
    "序号": ["序号", "编号", "序"],
    "姓名": [
        "姓名",
        "儿童姓名",
        "留守儿童姓名",
        "学生姓名",
        "妇女姓名",
        "留守妇女姓名",
        "老人姓名",
        "留守老人姓名",
    ],
    "性别": ["性别"],
    "身份证号": [
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "身份证",
        "儿童身份证号",
        "儿童身份证号码",
        "身份证件号码",
    ],
    "出生日期": ["出生日期", "出生年月", "出生年月日", "出生时间"],
    "县(区)": ["县(区)", "县区", "县", "区", "县(市、区)", "县(市区)", "县(市)", "所属县区"],
    "乡镇(街道)": ["乡镇(街道)", "乡镇", "乡(镇)", "乡镇街道", "乡(镇、街道)", "镇(街道)", "所属乡镇"],
    "村(社区)": ["村(社区)", "村", "社区", "村(居)", "村居", "行政村", "所在村", "村(居)委会", "村名"],
    "村代码": ["村代码", "村(社区)代码", "村区划代码", "区划代码", "统计用区划代码", "村级代码"],
    "民族": ["民族"],
    "就读学校": ["就读学校", "学校", "学校名称", "就读学校名称", "所在学校"],
    "年级": ["年级", "就读年级", "年级班级", "班级"],
    "健康状况": ["健康状况", "健康情况", "身体状况", "身体健康状况"],
    "监护类型": ["监护类型", "监护方式", "监护人类型"],
    "监护人姓名": ["监护人姓名", "监护人"],
    "与儿童关系": ["与儿童关系", "监护人与儿童关系", "与被监护人关系", "与留守儿童关系"],
    "监护人电话": ["监护人电话", "联系电话", "监护人联系电话", "监护人手机", "监护人手机号", "联系方式"],
    "父亲姓名": ["父亲姓名"],
    "父亲状况": ["父亲状况", "父亲状态", "父亲外出情况"],
    "父亲务工地": ["父亲务工地", "父亲务工地点", "父亲外出务工地", "父亲务工地址", "父亲务工地(到市)"],
    "母亲姓名": ["母亲姓名"],
    "母亲状况": ["母亲状况", "母亲状态", "母亲外出情况"],
    "母亲务工地": ["母亲务工地", "母亲务工地点", "母亲外出务工地", "母亲务工地址", "母亲务工地(到市)"],
    "备注": ["备注", "说明"],
    "就学情况": ["就学情况", "就学状况", "在校情况", "就读情况"],
    "是否寄宿": ["是否寄宿", "寄宿", "是否住校"],
    "监护评估": ["监护评估", "监护能力评估", "监护情况评估"],
    # The entry form's ID numbers, phones and addresses, as the template and village files name them.
    "监护人身份证号": ["监护人身份证号", "监护人身份证号码", "监护人身份证", "监护人公民身份号码"],
    "父亲身份证号": ["父亲身份证号", "父亲身份证号码", "父亲身份证", "父亲公民身份号码"],
    "父亲电话": ["父亲电话", "父亲联系电话", "父亲手机", "父亲手机号", "父亲手机号码", "父亲联系方式"],
    "母亲身份证号": ["母亲身份证号", "母亲身份证号码", "母亲身份证", "母亲公民身份号码"],
    "母亲电话": ["母亲电话", "母亲联系电话", "母亲手机", "母亲手机号", "母亲手机号码", "母亲联系方式"],
    "户籍所在地": ["户籍所在地", "户籍地", "户籍地址", "户籍住址", "户口所在地", "户口地址"],
    "现居住地": ["现居住地", "现住址", "居住地址", "家庭住址", "现居住地址", "现住地址", "居住地"],
    # Women and elders: their own phone, husband, children, care.
    "联系电话": ["联系电话", "本人电话", "本人联系电话", "手机号码", "手机号", "电话", "联系方式"],
    "丈夫姓名": ["丈夫姓名", "配偶姓名"],
    "丈夫务工地": ["丈夫务工地", "丈夫务工地点", "丈夫外出务工地", "配偶务工地"],
    "丈夫外出月数": ["丈夫外出月数", "丈夫外出时间", "外出月数", "外出时长(月)", "外出时间(月)"],
    "丈夫电话": ["丈夫电话", "丈夫联系电话", "丈夫手机", "配偶电话"],
    "子女数": ["子女数", "子女数量", "子女人数", "子女个数"],
    "未成年子女数": ["未成年子女数", "未成年子女人数", "未成年子女"],
    "居住情况": ["居住情况", "居住状况", "居住方式", "生活居住情况"],
    "外出子女数": ["外出子女数", "外出子女人数", "外出务工子女数"],
    "子女外出最短月数": ["子女外出最短月数", "子女外出月数", "子女外出时间", "外出月数(最短)"],
    "照料人姓名": ["照料人姓名", "照料人", "照顾人", "照料人员"],
    "照料人电话": ["照料人电话", "照料人联系电话", "照顾人电话"],
    "收入来源": ["收入来源", "主要收入来源", "经济来源", "生活来源"],
    "残疾类别": ["残疾类别", "残疾类型"],
    "残疾等级": ["残疾等级"],
    "所患疾病": ["所患疾病", "疾病名称", "患病情况"],
    "主要需求": ["主要需求", "需求", "帮扶需求"],
}

# Group labels of a two-level header → the prefix their sub-columns take.
_GROUPS = {
    "监护人": "监护人",
    "监护": "监护人",
    "父亲": "父亲",
    "母亲": "母亲",
    "丈夫": "丈夫",
    "配偶": "丈夫",
    "照料人": "照料人",
}
# Sub-column names under a group → the generic part of the canonical name.
_SUB = {
    "姓名": "姓名",
    "与儿童关系": "与儿童关系",
    "关系": "与儿童关系",
    "联系电话": "电话",
    "电话": "电话",
    "手机": "电话",
    "手机号": "电话",
    "手机号码": "电话",
    "联系方式": "电话",
    "身份证号": "身份证号",
    "身份证号码": "身份证号",
    "身份证": "身份证号",
    "公民身份号码": "身份证号",
    "状况": "状况",
    "状态": "状况",
    "情况": "状况",
    "外出情况": "状况",
    "是否外出": "状况",
    "务工地": "务工地",
    "务工地点": "务工地",
    "外出务工地": "务工地",
    "务工地址": "务工地",
    "外出月数": "外出月数",
    "外出时间": "外出月数",
}


def clean_header(text):
    """A header cell as compared: NFKC (full-width brackets → ASCII), no spaces, line breaks,
    zero-width characters or required-field stars."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s\u200b\u200c\u200d\u2060\ufeff*※:：]", "", text)


def _lookup(columns):
    table = {}
    for canonical in columns:
        for variant in _ALIASES.get(canonical, [canonical]):
            table[clean_header(variant)] = canonical
    return table


def _group_of(label):
    label = re.sub(r"(情况|信息|基本情况)$", "", clean_header(label))
    return _GROUPS.get(label)


def _grouped(group, sub):
    sub = _SUB.get(clean_header(sub))
    if not group or not sub:
        return None
    if group == "监护人" and sub in ("状况", "务工地"):
        return None
    if group != "监护人" and sub == "与儿童关系":
        return None
    return sub if sub == "与儿童关系" else f"{group}{sub}"


@dataclass
class Header:
    row_number: int  # the (lower) header row's spreadsheet number
    index: int  # its position in the sheet's rows; data start after it
    columns: dict  # column index → canonical name
    labels: dict = None  # column index → the header text as the file has it (or the canonical name)


def _single(cells, table):
    return {j: table[clean_header(c)] for j, c in enumerate(cells) if clean_header(c) in table}


def _two_level(top, bottom, table):
    columns, group = {}, None
    for j in range(max(len(top), len(bottom))):
        upper = clean_header(top[j]) if j < len(top) else ""
        lower = clean_header(bottom[j]) if j < len(bottom) else ""
        if upper:
            group = _group_of(upper)
        if lower:
            name = _grouped(group, lower) or table.get(lower)
        else:
            # Merged down over both rows: the upper cell holds the name; a group has none here.
            name = table.get(upper) if upper else None
        if name in table.values():
            columns[j] = name
    return columns


def find_header(rows, columns):
    """The header of ``rows`` (``[(row_number, cells)]``) for the canonical ``columns``, or None.

    The best-scoring row among the first :data:`HEADER_SEARCH_ROWS` wins, read alone or as the
    lower half of a two-level header with the row above it.
    """
    table = _lookup(columns)
    best, best_score = None, MIN_HEADER_COLUMNS - 1
    previous = None
    for index, (row_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        candidates = [(_single(cells, table), [cells])]
        if previous is not None and any(_group_of(c) for c in previous):
            candidates.append((_two_level(previous, cells, table), [cells, previous]))
        for found, source in candidates:
            score = len(set(found.values()))
            if score > best_score:
                labels = {j: _label(j, name, source, table) for j, name in found.items()}
                best = Header(row_number=row_number, index=index, columns=found, labels=labels)
                best_score = score
        previous = cells
    return best


def _label(j, name, source, table):
    """Column ``j``'s header text as the file has it, if that text alone names the column
    (so a workbook written with it imports again); else the canonical ``name``."""
    for cells in source:
        if j < len(cells) and table.get(clean_header(cells[j])) == name:
            return " ".join(str(cells[j]).split())
    return name
