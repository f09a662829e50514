"""The region tree and the scoping every record model shares.

A region's 12-digit statistical code is a prefix of every region below it once its trailing
zeros are cut to the level's significant length (DESIGN §3), so "everything in 清丰县" is
``code LIKE '410922%'``. Scoping and aggregation are prefix operations, never tree walks.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from simple_history.models import HistoricalRecords

from accounts import policy
from registry import codes, rules
from registry.choices import (
    Assistance,
    Category,
    ExitReason,
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    LeftBehindType,
    LivingArrangement,
    ParentStatus,
    RecordStatus,
    Schooling,
    Sex,
)
from registry.codes import full_code


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县（区）"
    TOWNSHIP = "township", "乡镇（街道）"
    VILLAGE = "village", "村（社区）"


# Significant digits of a code at each level; the rest of the 12 digits are zeros (registry/codes.py).
PREFIX_LENGTH = {level: codes.LENGTH[level.value] for level in RegionLevel}
LEVEL_ORDER = list(PREFIX_LENGTH)


def child_level(level):
    """The level directly below ``level``, or None below a village."""
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


class ScopedQuerySet(models.QuerySet):
    """Scoping by region-code prefix, shared by Region and every record model.

    ``scope_field`` names the (indexed) 12-digit code column the prefix applies to.
    """

    scope_field = "village_code"

    def in_region(self, region):
        return self.filter(**{f"{self.scope_field}__range": policy.prefix_range(region.prefix)})

    def in_prefixes(self, prefixes):
        return self.filter(policy.prefixes_q(prefixes, self.scope_field))

    def visible_to(self, user):
        """Records of personal data that ``user`` may read (sysadmins read none)."""
        return self.in_prefixes(policy.record_prefixes(user))


class RegionQuerySet(ScopedQuerySet):
    scope_field = "code"

    def visible_to(self, user):
        """Regions ``user`` may look at: their scope, or everything for a system administrator."""
        return self.in_prefixes(policy.region_prefixes(user))

    def at_level(self, level):
        return self.filter(level=level)

    def below(self, region):
        """Every region under ``region``, not itself."""
        return self.in_region(region).exclude(pk=region.pk)


class Region(models.Model):
    code = models.CharField("统计用区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=10, choices=RegionLevel.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Facts of the running screening campaign that the registry needs, kept by survey's services
    # (survey/services.py): the registry never reads the survey's tables.
    records_locked = models.BooleanField(
        "记录已锁定",
        default=False,
        editable=False,
        help_text="村：本次摸底排查的报表已审核，村干部不能修改本村记录，直至审核员重新打开报表。",
    )
    campaign_reference_date = models.DateField(
        "统计基准日",
        null=True,
        blank=True,
        editable=False,
        help_text="进行中的摸底排查所覆盖的区划（市）：年龄按此日期计算。",
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Exact(Length("code"), 12), name="region_code_12_digits"),
        ]

    def __str__(self):
        return self.name

    @property
    def prefix(self):
        return self.code[: PREFIX_LENGTH[self.level]]

    def contains(self, other):
        return other.code.startswith(self.prefix)

    def ancestors(self):
        """The regions above this one, top first (one query)."""
        codes = [
            full_code(self.code[:length])
            for level, length in PREFIX_LENGTH.items()
            if length < PREFIX_LENGTH[self.level]
        ]
        return Region.objects.filter(code__in=codes).order_by("code")

    @property
    def full_name(self):
        return "".join(r.name for r in self.ancestors() if r.level != RegionLevel.PROVINCE) + self.name


def with_village_counts(regions):
    """``regions`` (all of one level) as a list, each with ``village_count`` set, in one query."""
    regions = list(regions)
    if not regions:
        return regions
    length = PREFIX_LENGTH[regions[0].level]
    rows = (
        Region.objects.at_level(RegionLevel.VILLAGE)
        .in_prefixes([region.prefix for region in regions])
        .annotate(head=models.functions.Substr("code", 1, length))
        .values("head")
        .annotate(n=models.Count("id"))
    )
    counts = {row["head"]: row["n"] for row in rows}
    for region in regions:
        region.village_count = counts.get(region.prefix, 0)
    return regions


def scope_roots(user):
    """The top regions of a user's scope: their bound region(s), or the tree's roots for an admin."""
    prefixes = policy.region_prefixes(user)
    if prefixes == [""]:
        return list(Region.objects.filter(parent__isnull=True))
    return list(Region.objects.filter(code__in=[full_code(p) for p in prefixes]))


# --- records of people ------------------------------------------------------------------


class IdentityClaim(models.Model):
    """One person, one record in the whole registry (DESIGN §2).

    Every child, woman and elder record claims its ID number here, in the same transaction as
    the record; the unique constraint makes two simultaneous entries of one ID impossible,
    whichever villages or categories they come from. A record that left the registry keeps
    its claim.
    """

    id_number = models.CharField("身份证号", max_length=18, unique=True)
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    village = models.ForeignKey(
        Region, verbose_name="登记村（社区）", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "身份证号登记"
        verbose_name_plural = "身份证号登记"

    def __str__(self):
        return f"{self.get_category_display()} · {self.village}"


class RecordQuerySet(ScopedQuerySet):
    scope_field = "village_code"

    def active(self):
        return self.filter(status=RecordStatus.ACTIVE)

    def high_risk(self):
        return self.filter(is_high_risk=True)


class PersonRecord(models.Model):
    """What every record shares: who, where, health, status, risk, version and history."""

    category = None  # a Category value, set by each concrete model

    village = models.ForeignKey(Region, verbose_name="村（社区）", on_delete=models.PROTECT, related_name="+")
    # The village's 12-digit code, denormalised: scoping is a range filter on it (a prefix as
    # BETWEEN, accounts.policy.prefixes_q), served by the indexes led by it (Meta.indexes).
    village_code = models.CharField("村代码", max_length=12, editable=False)
    name = models.CharField("姓名", max_length=30)
    sex = models.CharField("性别", max_length=6, choices=Sex.choices)
    ethnicity = models.CharField("民族", max_length=20, default="汉族")
    birth_date = models.DateField("出生日期")
    id_number = models.CharField("身份证号", max_length=18, unique=True)
    id_warnings = models.CharField("身份证号提示", max_length=300, blank=True, editable=False)
    hukou_address = models.CharField("户籍所在地", max_length=200, blank=True)
    current_address = models.CharField("现居住地", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    health = models.CharField(
        "健康状况", max_length=16, choices=HealthStatus.choices, default=HealthStatus.HEALTHY
    )
    disability_type = models.CharField("残疾类别", max_length=30, blank=True)
    disability_grade = models.CharField("残疾等级", max_length=10, blank=True)
    illness = models.CharField("所患疾病", max_length=100, blank=True)
    needs = models.TextField("主要需求", blank=True)
    note = models.TextField("备注", blank=True)

    status = models.CharField(
        "状态", max_length=10, choices=RecordStatus.choices, default=RecordStatus.ACTIVE
    )
    exit_reason = models.CharField("退出原因", max_length=20, choices=ExitReason.choices, blank=True)
    exit_date = models.DateField("退出日期", null=True, blank=True)
    exit_note = models.CharField("退出说明", max_length=200, blank=True)

    is_high_risk = models.BooleanField("高风险", default=False, editable=False)
    risk_flags = models.JSONField("风险标识", default=list, blank=True, editable=False)

    # Optimistic lock: every saved change increments it; a save from a stale form is refused.
    version = models.PositiveIntegerField("版本", default=1, editable=False)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = RecordQuerySet.as_manager()
    # The history is read record by record (its id, newest first: records.history_entries) and
    # by nothing else: the indexes the record's own fields carry (ID number, village, registrant)
    # would only slow every write of it, an import's thousands of rows most of all.
    history = HistoricalRecords(
        inherit=True,
        excluded_fields=["version", "updated_at"],
        no_db_index=["id_number", "village", "created_by"],
    )

    class Meta:
        abstract = True
        ordering = ["village_code", "name", "pk"]
        # Counted from the index alone within a scope, and name prefixes searched by index
        # (varchar_pattern_ops: PostgreSQL only; SQLite ignores it). bench/registry.py has the figures.
        # (db_index on village_code and status added a plain and a LIKE index each: the plain
        # one on village_code duplicated the one below, and nothing filters either by LIKE.)
        indexes = [
            models.Index(fields=["village_code", "status"], name="%(class)s_scope_status"),
            models.Index(fields=["status"], name="%(class)s_status"),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="%(class)s_name_like"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.status == RecordStatus.ACTIVE


class Child(PersonRecord):
    category = Category.CHILD

    schooling = models.CharField(
        "就学情况", max_length=16, choices=Schooling.choices, default=Schooling.PRIMARY
    )
    school_name = models.CharField("就读学校", max_length=100, blank=True)
    grade = models.CharField("年级", max_length=20, blank=True)
    boarding = models.BooleanField("寄宿", default=False)

    father_name = models.CharField("父亲姓名", max_length=30, blank=True)
    father_id_number = models.CharField("父亲身份证号", max_length=18, blank=True)
    father_status = models.CharField("父亲状况", max_length=16, choices=ParentStatus.choices)
    father_work_place = models.CharField("父亲务工地（到市）", max_length=60, blank=True)
    father_phone = models.CharField("父亲电话", max_length=20, blank=True)
    mother_name = models.CharField("母亲姓名", max_length=30, blank=True)
    mother_id_number = models.CharField("母亲身份证号", max_length=18, blank=True)
    mother_status = models.CharField("母亲状况", max_length=16, choices=ParentStatus.choices)
    mother_work_place = models.CharField("母亲务工地（到市）", max_length=60, blank=True)
    mother_phone = models.CharField("母亲电话", max_length=20, blank=True)

    guardianship_type = models.CharField("监护类型", max_length=16, choices=GuardianshipType.choices)
    guardian_name = models.CharField("监护人姓名", max_length=30, blank=True)
    guardian_id_number = models.CharField("监护人身份证号", max_length=18, blank=True)
    guardian_relation = models.CharField(
        "与儿童关系", max_length=24, choices=GuardianRelation.choices, blank=True
    )
    guardian_phone = models.CharField("监护人电话", max_length=20, blank=True)
    guardian_assessment = models.CharField("监护评估", max_length=24, choices=GuardianAssessment.choices)
    entrusted_guardian_appointed = models.BooleanField("已签订委托监护", default=False)

    income_sources = models.CharField("家庭收入来源", max_length=100, blank=True)
    assistance = models.JSONField("享受救助", default=list, blank=True)
    contact_person = models.CharField("村（居）联系人", max_length=30, blank=True)
    contact_phone = models.CharField("联系人电话", max_length=20, blank=True)

    left_behind_type = models.CharField(
        "留守类型", max_length=8, choices=LeftBehindType.choices, blank=True, editable=False
    )

    class Meta(PersonRecord.Meta):
        verbose_name = "留守儿童"
        verbose_name_plural = "留守儿童"
        indexes = [
            *PersonRecord.Meta.indexes,
            models.Index(fields=["village_code", "birth_date"], name="child_village_birth"),
            models.Index(
                fields=["village_code", "status"],
                condition=models.Q(is_high_risk=True),
                name="child_high_risk",
            ),
            models.Index(
                fields=["guardian_name"], opclasses=["varchar_pattern_ops"], name="child_guardian_like"
            ),
            # Covering indexes (PostgreSQL; SQLite builds them without INCLUDE) so that the
            # statistics and the duplicate check read the index alone (bench/survey.py). The
            # INCLUDE list follows survey.statistics: a new column there belongs here too.
            models.Index(
                fields=["village_code"],
                include=[
                    "id",
                    "sex",
                    "birth_date",
                    "left_behind_type",
                    "guardianship_type",
                    "schooling",
                    "health",
                    "is_high_risk",
                    "guardian_phone",
                    "id_warnings",
                    "assistance",
                ],
                condition=models.Q(status="active"),
                name="child_statistics",
            ),  # fmt: skip
            models.Index(
                fields=["name", "birth_date"],
                include=["village_code", "id"],
                condition=models.Q(status="active"),
                name="child_duplicates",
            ),
        ]

    def assistance_labels(self):
        return [Assistance(code).label for code in self.assistance if code in Assistance.values]


class Woman(PersonRecord):
    category = Category.WOMAN

    husband_name = models.CharField("丈夫姓名", max_length=30, blank=True)
    husband_work_place = models.CharField("丈夫务工地（到市）", max_length=60, blank=True)
    husband_months_away = models.PositiveSmallIntegerField("丈夫外出月数")
    husband_phone = models.CharField("丈夫电话", max_length=20, blank=True)
    children_count = models.PositiveSmallIntegerField("子女数", default=0)
    minor_children_count = models.PositiveSmallIntegerField("未成年子女数", default=0)

    class Meta(PersonRecord.Meta):
        verbose_name = "留守妇女"
        verbose_name_plural = "留守妇女"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minor_children_count__lte=models.F("children_count")),
                name="woman_minors_not_more_than_children",
                violation_error_message=rules.MINOR_CHILDREN_EXCEED,
            )
        ]


class Elder(PersonRecord):
    category = Category.ELDER

    living_arrangement = models.CharField("居住情况", max_length=20, choices=LivingArrangement.choices)
    children_count = models.PositiveSmallIntegerField("子女数")
    children_away_count = models.PositiveSmallIntegerField("外出子女数")
    min_months_away = models.PositiveSmallIntegerField("子女外出最短月数")
    caregiver_name = models.CharField("照料人姓名", max_length=30, blank=True)
    caregiver_phone = models.CharField("照料人电话", max_length=20, blank=True)
    income_sources = models.CharField("收入来源", max_length=100, blank=True)

    class Meta(PersonRecord.Meta):
        verbose_name = "留守老人"
        verbose_name_plural = "留守老人"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(children_away_count__lte=models.F("children_count")),
                name="elder_away_not_more_than_children",
                violation_error_message=rules.CHILDREN_AWAY_EXCEED,
            )
        ]


RECORD_MODELS = {Category.CHILD: Child, Category.WOMAN: Woman, Category.ELDER: Elder}


class VillageStatistics(models.Model):
    """The children's statistics of one village on a reference date (registry.statistics)."""

    village_code = models.CharField("村代码", max_length=12, unique=True)
    on = models.DateField("统计基准日")
    counts = models.JSONField("各项人数", default=dict)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "村级儿童统计"
        verbose_name_plural = "村级儿童统计"

    def __str__(self):
        return f"{self.village_code} · {self.on:%Y-%m-%d}"


# --- roster imports (issue 5: the upload page and its background jobs) ------------------------


class ImportJobQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The jobs ``user`` started: nobody else sees a job, whatever their role."""
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(owner=user)

    def readable_by(self, user):
        """The jobs ``user`` started for a region still inside their current import scope
        (policy.can_read_import_job): a job of a county the owner no longer holds is nobody's."""
        return self.owned_by(user).filter(policy.prefixes_q(policy.import_prefixes(user), "region__code"))

    def with_personal_data(self):
        """Jobs still holding the uploaded file, the error list or the invalid rows."""
        return self.filter(
            models.Q(content__isnull=False) | models.Q(invalid_rows__isnull=False) | ~models.Q(errors=[])
        )

    def without_content(self):
        """Lists need neither the uploaded file nor the invalid rows' workbook."""
        return self.defer("content", "invalid_rows")


class ImportJob(models.Model):
    """One upload of a roster by a county or city officer, from preview to commit.

    Small files are previewed and committed in the request; big ones by the background
    worker (registry.roster.tasks), which reports ``progress_done`` of ``progress_total`` rows.
    ``region`` is the owner's region at upload: the job, and every file derived from it, is
    readable only while that region is inside the owner's current import scope.

    Personal data (the uploaded file, the errors, the invalid rows) lives no longer than the job
    needs it: all of it goes when the job is committed or discarded, and whatever a job still holds
    after ``settings.IMPORT_RETENTION_HOURS`` without progress is purged (registry.roster.tasks); the
    counts stay for the history, ``data_deleted_at`` says when the rest went.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        PREVIEWING = "previewing", "预览中"
        AWAITING = "awaiting", "待确认"
        COMMITTING = "committing", "导入中"
        DONE = "done", "已完成"
        REFUSED = "refused", "已拒绝"
        FAILED = "failed", "失败"

    FINISHED = (State.DONE, State.REFUSED)
    RUNNING = (State.QUEUED, State.PREVIEWING, State.COMMITTING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="导入人", on_delete=models.PROTECT, related_name="import_jobs"
    )
    region = models.ForeignKey(
        Region, verbose_name="导入范围", on_delete=models.PROTECT, related_name="import_jobs"
    )
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    file_name = models.CharField("文件名", max_length=255)
    content = models.BinaryField("文件内容", null=True, blank=True)
    skip_invalid = models.BooleanField("仅导入有效行", default=False)
    background = models.BooleanField("后台运行", default=False)
    rows = models.PositiveIntegerField(
        "文件行数", default=0, help_text="有内容的行（含表头），不计格式化的空行。"
    )
    assessment_missing = models.BooleanField(
        "缺“监护评估”列", default=False, help_text="儿童花名册没有监护评估列：新登记的儿童记为待评估。"
    )
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.QUEUED)
    attempt = models.PositiveIntegerField("运行次数", default=0)
    restarts = models.PositiveIntegerField("自动接续次数", default=0)
    task_id = models.CharField("后台任务", max_length=64, blank=True)
    progress_done = models.PositiveIntegerField("已处理行数", default=0)
    progress_total = models.PositiveIntegerField("总行数", default=0)
    summary = models.JSONField("结果统计", default=dict, blank=True)
    errors = models.JSONField("错误列表", default=list, blank=True)
    invalid_rows = models.BinaryField("无效行工作簿", null=True, blank=True)
    failure = models.TextField("失败原因", blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    updated_at = models.DateTimeField("最近进展", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    data_deleted_at = models.DateTimeField("明细删除时间", null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = "花名册导入"
        verbose_name_plural = "花名册导入"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="importjob_owner_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress_done__lte=models.F("progress_total")),
                name="importjob_progress_within_total",
            ),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True) | models.Q(state__in=["done", "refused"]),
                name="importjob_finished_only_when_done_or_refused",
            ),
        ]

    def __str__(self):
        return f"{self.file_name} · {self.get_state_display()}"

    @property
    def is_finished(self):
        return self.state in self.FINISHED

    @property
    def is_running(self):
        return self.state in self.RUNNING

    @property
    def percent(self):
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))
