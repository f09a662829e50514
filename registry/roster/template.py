"""The children's roster template: the canonical header, a drop-down list on every choice
column, ID/phone/code columns stored as text, and an instructions sheet with an example row."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from registry.choices import (
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    ParentStatus,
    Schooling,
    Sex,
)
from registry.roster.headers import CHILD_COLUMNS

# The canonical columns, then the form's assessment and schooling so that nothing is guessed.
TEMPLATE_COLUMNS = [*CHILD_COLUMNS[:-1], "就学情况", "是否寄宿", "监护评估", CHILD_COLUMNS[-1]]
TEXT_COLUMNS = ("身份证号", "村代码", "监护人电话")
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
# (column, what it means, example)
EXPLANATIONS = {
    "序号": ("可留空", "1"),
    "姓名": ("必填，儿童姓名", "张小明"),
    "性别": ("可不填，按身份证号识别；填写时须与身份证号一致", "男"),
    "身份证号": ("必填，18位公民身份号码；本列已设为文本，请勿改成数字格式", "410922201503051236"),
    "出生日期": ("可不填，按身份证号识别；支持 2015-03-05、2015.3.5、2015年3月5日", "2015-03-05"),
    "县(区)": ("村代码为空时用县、乡镇、村名称确定所在村", "清丰县"),
    "乡镇(街道)": ("同上", "城关镇"),
    "村(社区)": ("同上", "余楼村"),
    "村代码": ("12位统计用区划代码；填写后以此为准", "410922100201"),
    "民族": ("默认汉族", "汉族"),
    "就读学校": ("", "城关镇第一小学"),
    "年级": ("", "三年级"),
    "健康状况": ("", "健康"),
    "监护类型": ("必填；“无人监护”将立即列为高风险", "祖辈监护"),
    "监护人姓名": ("", "张大山"),
    "与儿童关系": ("", "祖父母"),
    "监护人电话": ("手机11位或带区号的固定电话", "13812345678"),
    "父亲姓名": ("", "张强"),
    "父亲状况": ("必填", "外出务工"),
    "父亲务工地": ("到市一级", "广东省东莞市"),
    "母亲姓名": ("", "李梅"),
    "母亲状况": ("必填", "外出务工"),
    "母亲务工地": ("到市一级", "浙江省杭州市"),
    "就学情况": ("可不填，按年级推断", "小学"),
    "是否寄宿": ("", "否"),
    "监护评估": ("必填", "监护情况较好"),
    "备注": ("", ""),
}


def children_template():
    """The xlsx bytes of the children's roster template."""
    wb = Workbook()
    ws = wb.active
    ws.title = "留守儿童"
    ws.append(TEMPLATE_COLUMNS)
    for index, column in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(1, index)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center", wrap_text=True)
        ws.column_dimensions[letter].width = 20 if column in TEXT_COLUMNS else 12
        if column in TEXT_COLUMNS:
            for row in range(2, DATA_ROWS + 2):
                ws.cell(row, index).number_format = "@"
        if column in CHOICE_LISTS:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(CHOICE_LISTS[column]) + '"',
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
    for column in TEMPLATE_COLUMNS:
        meaning, example = EXPLANATIONS[column]
        notes.append([column, meaning, "、".join(CHOICE_LISTS.get(column, [])), example])
    notes.append([])
    notes.append(["注意", "第一张表的第1行为表头，请从第2行起每行填写一名儿童；可在表头上方加标题行。"])
    notes.append(["", "身份证号若被 Excel 存成数字会丢失后几位，无法恢复：请保持该列为文本格式。"])
    for letter, width in zip("ABCD", (14, 48, 60, 22), strict=True):
        notes.column_dimensions[letter].width = width
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
