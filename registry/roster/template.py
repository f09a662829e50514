"""The roster templates of children, women and elders: the canonical header, a drop-down list
on every choice column, ID/phone/code columns stored as text, and an instructions sheet with
the meaning of each column, its allowed values and an example row."""

from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from registry.choices import (
    Category,
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    LivingArrangement,
    ParentStatus,
    Schooling,
    Sex,
)
from registry.roster.errors import is_text_column
from registry.roster.headers import CHILD_COLUMNS, ELDER_COLUMNS, WOMAN_COLUMNS


def _with(columns, after):
    """``columns`` with the columns of ``after`` ({column: [columns to insert after it]}) inserted."""
    return [inserted for column in columns for inserted in (column, *after.get(column, ()))]


# The canonical columns, then the form's assessment and schooling so that nothing is guessed
# (bench/roster_import.py writes rosters of these).
CANONICAL_TEMPLATE_COLUMNS = [*CHILD_COLUMNS[:-1], "就学情况", "是否寄宿", "监护评估", CHILD_COLUMNS[-1]]
# The template adds what the entry form records beside them: the addresses, the parents' and the
# guardian's ID numbers and phones (the import reads each back: pipeline.CHILD_FIELDS).
ADDRESSES = ["户籍所在地", "现居住地"]
TEMPLATE_COLUMNS = _with(
    CANONICAL_TEMPLATE_COLUMNS,
    {
        "民族": ADDRESSES,
        "监护人姓名": ["监护人身份证号"],
        "父亲务工地": ["父亲身份证号", "父亲电话"],
        "母亲务工地": ["母亲身份证号", "母亲电话"],
    },
)
TEMPLATE_WOMAN_COLUMNS = _with(WOMAN_COLUMNS, {"民族": ADDRESSES})
TEMPLATE_ELDER_COLUMNS = _with(ELDER_COLUMNS, {"民族": ADDRESSES})
TEXT_COLUMNS = tuple(c for c in TEMPLATE_COLUMNS if is_text_column(c))
DATA_ROWS = 2000
CHOICE_LISTS = {
    "性别": Sex.labels,
    "健康状况": HealthStatus.labels,
    "监护类型": GuardianshipType.labels,
    "与儿童关系": GuardianRelation.labels,
    "父亲状况": ParentStatus.labels,
    "母亲状况": ParentStatus.labels,
    "就学情况": Schooling.labels,
    "是否寄宿": ["是", "否"],
    "监护评估": GuardianAssessment.labels,
}
ID_MEANING = "必填，18位公民身份号码；本列已设为文本，请勿改成数字格式"
# (column, what it means, example)
EXPLANATIONS = {
    "序号": ("可留空", "1"),
    "姓名": ("必填，儿童姓名", "张小明"),
    "性别": ("可不填，按身份证号识别；填写时须与身份证号一致", "男"),
    "身份证号": (ID_MEANING, "410922201503051235"),
    "出生日期": ("可不填，按身份证号识别；支持 2015-03-05、2015.3.5、2015年3月5日", "2015-03-05"),
    "县(区)": ("村代码为空时用县、乡镇、村名称确定所在村", "清丰县"),
    "乡镇(街道)": ("同上", "城关镇"),
    "村(社区)": ("同上", "余楼村"),
    "村代码": ("12位统计用区划代码；填写后以此为准", "410922100201"),
    "民族": ("默认汉族", "汉族"),
    "户籍所在地": ("户口登记的地址", "清丰县城关镇余楼村"),
    "现居住地": ("现在住的地址；与户籍所在地相同可留空", "清丰县城关镇余楼村"),
    "就读学校": ("", "城关镇第一小学"),
    "年级": ("", "三年级"),
    "健康状况": ("", "健康"),
    "监护类型": ("必填；“无人监护”将立即列为高风险", "祖辈监护"),
    "监护人姓名": ("", "张大山"),
    "监护人身份证号": ("18位公民身份号码；本列已设为文本", "41092219620305123X"),
    "与儿童关系": ("", "祖父母"),
    "监护人电话": ("手机11位或带区号的固定电话", "13812345678"),
    "父亲姓名": ("", "张强"),
    "父亲状况": ("必填", "外出务工"),
    "父亲务工地": ("到市一级", "广东省东莞市"),
    "父亲身份证号": ("18位公民身份号码；本列已设为文本", "410922198503051230"),
    "父亲电话": ("手机11位或带区号的固定电话", "13712345678"),
    "母亲姓名": ("", "李梅"),
    "母亲状况": ("必填", "外出务工"),
    "母亲务工地": ("到市一级", "浙江省杭州市"),
    "母亲身份证号": ("18位公民身份号码；本列已设为文本", "410922198706121243"),
    "母亲电话": ("手机11位或带区号的固定电话", "13612345678"),
    "就学情况": ("可不填，按年级推断", "小学"),
    "是否寄宿": ("", "否"),
    "监护评估": ("必填", "监护情况较好"),
    "备注": ("", ""),
}


# What the three kinds share in their instructions (meaning, example) — women's examples.
_PERSON = {
    "序号": ("可留空", "1"),
    "县(区)": EXPLANATIONS["县(区)"],
    "乡镇(街道)": EXPLANATIONS["乡镇(街道)"],
    "村(社区)": EXPLANATIONS["村(社区)"],
    "村代码": EXPLANATIONS["村代码"],
    "民族": ("默认汉族", "汉族"),
    "户籍所在地": EXPLANATIONS["户籍所在地"],
    "现居住地": EXPLANATIONS["现居住地"],
    "联系电话": ("本人电话；手机11位或带区号的固定电话", "13912345678"),
    "健康状况": ("默认健康", "健康"),
    "备注": ("", ""),
}
WOMAN_EXPLANATIONS = {
    **_PERSON,
    "姓名": ("必填", "王秀兰"),
    "性别": ("可不填，按身份证号识别；须为女", "女"),
    "身份证号": (ID_MEANING, "410922198503051249"),
    "出生日期": ("可不填，按身份证号识别；年龄须在20至59周岁之间", "1985-03-05"),
    "丈夫姓名": ("", "张建国"),
    "丈夫务工地": ("到市一级", "广东省深圳市"),
    "丈夫外出月数": ("必填，丈夫连续外出务工的月数（整数）", "12"),
    "丈夫电话": ("手机11位或带区号的固定电话", "13712345678"),
    "子女数": ("整数，默认0", "2"),
    "未成年子女数": ("整数，不能多于子女数", "1"),
}
ELDER_EXPLANATIONS = {
    **_PERSON,
    "姓名": ("必填", "李德山"),
    "性别": ("可不填，按身份证号识别", "男"),
    "身份证号": (ID_MEANING, "410922195203051235"),
    "出生日期": ("可不填，按身份证号识别；须年满60周岁", "1952-03-05"),
    "居住情况": ("必填", "与配偶同住"),
    "子女数": ("必填，整数", "3"),
    "外出子女数": ("必填，整数，不能多于子女数；子女须全部外出", "3"),
    "子女外出最短月数": ("必填，外出子女中外出时间最短者的月数（整数）", "8"),
    "照料人姓名": ("", "李小芳"),
    "照料人电话": ("手机11位或带区号的固定电话", "13612345678"),
    "收入来源": ("", "养老金、子女赡养"),
}


@dataclass(frozen=True)
class TemplateSpec:
    sheet: str  # the first sheet's title, and what a row is ("每行填写一名…")
    filename: str
    columns: list
    choices: dict
    explanations: dict

    @property
    def text_columns(self):
        return tuple(c for c in self.columns if is_text_column(c))


TEMPLATES = {
    Category.CHILD: TemplateSpec(
        "留守儿童", "留守儿童花名册导入模板.xlsx", TEMPLATE_COLUMNS, CHOICE_LISTS, EXPLANATIONS
    ),
    Category.WOMAN: TemplateSpec(
        "留守妇女",
        "留守妇女花名册导入模板.xlsx",
        TEMPLATE_WOMAN_COLUMNS,
        {"性别": Sex.labels, "健康状况": HealthStatus.labels},
        WOMAN_EXPLANATIONS,
    ),
    Category.ELDER: TemplateSpec(
        "留守老人",
        "留守老人花名册导入模板.xlsx",
        TEMPLATE_ELDER_COLUMNS,
        {"性别": Sex.labels, "健康状况": HealthStatus.labels, "居住情况": LivingArrangement.labels},
        ELDER_EXPLANATIONS,
    ),
}
WHO = {Category.CHILD: "儿童", Category.WOMAN: "妇女", Category.ELDER: "老人"}


def roster_template(kind):
    """The xlsx bytes of the roster template of ``kind`` (a Category)."""
    spec = TEMPLATES[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = spec.sheet
    ws.append(spec.columns)
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(1, index)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center", wrap_text=True)
        ws.column_dimensions[letter].width = 20 if column in spec.text_columns else 12
        if column in spec.text_columns:
            for row in range(2, DATA_ROWS + 2):
                ws.cell(row, index).number_format = "@"
        if column in spec.choices:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(spec.choices[column]) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="无法识别",
                error=f"请从下拉列表中选择“{column}”。",
            )
            rule.add(f"{letter}2:{letter}{DATA_ROWS + 1}")
            ws.add_data_validation(rule)
    ws.freeze_panes = "C2"

    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "说明", "可填写的值", "示例"])
    for column in spec.columns:
        meaning, example = spec.explanations[column]
        notes.append([column, meaning, "、".join(spec.choices.get(column, [])), example])
    notes.append([])
    notes.append(
        ["注意", f"第一张表的第1行为表头，请从第2行起每行填写一名{WHO[kind]}；可在表头上方加标题行。"]
    )
    notes.append(["", "身份证号若被 Excel 存成数字会丢失后几位，无法恢复：请保持该列为文本格式。"])
    notes.append(["", "导入后如有无效行，可下载“无效行”表格，按“错误原因”列修改后重新导入。"])
    for letter, width in zip("ABCD", (14, 48, 60, 22), strict=True):
        notes.column_dimensions[letter].width = width
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def children_template():
    """The xlsx bytes of the children's roster template."""
    return roster_template(Category.CHILD)
