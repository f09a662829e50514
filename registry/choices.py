"""Choices of the registry's records (DESIGN §2, national registration form).

The stored value is a stable ASCII code; the label is what people read (STYLE §6).
Never rename a value: rows, imports and exports hold it.
"""

from django.db import models


class Sex(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"


class ParentStatus(models.TextChoices):
    AWAY_WORKING = "away_working", "外出务工"
    AT_HOME = "at_home", "在家"
    INCAPABLE = "incapable", "无监护能力"
    DECEASED = "deceased", "死亡"
    IMPRISONED = "imprisoned", "服刑"
    MISSING = "missing", "失联"
    DIVORCED = "divorced", "离异"


class GuardianshipType(models.TextChoices):
    GRANDPARENT = "grandparent", "祖辈监护"
    RELATIVE = "relative", "亲属监护"
    ENTRUSTED = "entrusted", "委托监护"
    ONE_PARENT = "one_parent", "父母一方监护"
    NONE = "none", "无人监护"


class GuardianAssessment(models.TextChoices):
    NONE = "none", "无人监护"
    PARENT_INCAPABLE = "parent_incapable", "父或母无监护能力"
    ENTRUSTED_INSUFFICIENT = "entrusted_insufficient", "受委托监护人监护能力不足"
    FAIR = "fair", "监护情况一般"
    GOOD = "good", "监护情况较好"
    # Not on the national form: a child brought in from an old roster without the column has
    # not been assessed, and is listed as such until the village assesses them.
    PENDING = "pending", "待评估"


class LeftBehindType(models.TextChoices):
    BOTH = "both", "双亲留守"
    SINGLE = "single", "单亲留守"


class AgeBand(models.TextChoices):
    """Reporting age bands; the value is ``"<from>_<to>"`` of settings.LEFT_BEHIND_CHILD_AGE_BANDS."""

    BAND_0_5 = "0_5", "0–5岁"
    BAND_6_13 = "6_13", "6–13岁"
    BAND_14_15 = "14_15", "14–15岁"


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "健康"
    DISABLED = "disabled", "残疾"
    ILL = "ill", "患病"
    SERIOUSLY_ILL = "seriously_ill", "重病"


class Schooling(models.TextChoices):
    KINDERGARTEN = "kindergarten", "幼儿园"
    NOT_ENROLLED = "not_enrolled", "未入园"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中"
    VOCATIONAL = "vocational", "中职"
    DROPPED_OUT = "dropped_out", "辍学"
    NOT_IN_SCHOOL = "not_in_school", "不在学"


class ExitReason(models.TextChoices):
    PARENTS_RETURNED = "parents_returned", "父母返乡"
    AGED_OUT = "aged_out", "年满16周岁"
    MOVED_OUT = "moved_out", "迁出"
    DECEASED = "deceased", "死亡"
    # Never a left-behind person at all (entered by mistake, wrong category): not a departure.
    ENTRY_ERROR = "entry_error", "登记错误"
    OTHER = "other", "其他"


class RecordStatus(models.TextChoices):
    ACTIVE = "active", "在册"
    EXITED = "exited", "已退出"


class Category(models.TextChoices):
    CHILD = "child", "留守儿童"
    WOMAN = "woman", "留守妇女"
    ELDER = "elder", "留守老人"


class GuardianRelation(models.TextChoices):
    GRANDPARENT = "grandparent", "祖父母"
    MATERNAL_GRANDPARENT = "maternal_grandparent", "外祖父母"
    FATHER = "father", "父亲"
    MOTHER = "mother", "母亲"
    SIBLING = "sibling", "兄弟姐妹"
    RELATIVE = "relative", "其他亲属"
    OTHER = "other", "其他"


class Assistance(models.TextChoices):
    SUBSISTENCE = "subsistence", "低保"
    EXTREME_POVERTY = "extreme_poverty", "特困供养"
    TEMPORARY = "temporary", "临时救助"
    MEDICAL = "medical", "医疗救助"
    EDUCATION = "education", "教育资助"
    DISABILITY = "disability", "残疾人补贴"
    ORPHAN = "orphan", "孤儿/事实无人抚养儿童基本生活费"
    OTHER = "other", "其他"


class LivingArrangement(models.TextChoices):
    ALONE = "alone", "独居"
    WITH_SPOUSE = "with_spouse", "与配偶同住"
    WITH_GRANDCHILDREN = "with_grandchildren", "与孙辈同住"
    WITH_RELATIVES = "with_relatives", "与其他亲属同住"
    CARE_FACILITY = "care_facility", "入住养老机构"


class HistorySource(models.TextChoices):
    WEB = "web", "网页填报"
    IMPORT = "import", "Excel导入"
    COMMAND = "command", "命令/演示数据"
