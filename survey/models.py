"""Screening campaigns (摸底排查) and each village's return, with every transition recorded.

DESIGN §5: 未开始 → 填报中 → 已提交 → 乡镇已审核 → 县级已审核, 退回 (with a reason) back to
填报中. Progress is computed from these rows and the records, never typed in.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from registry.choices import Category
from registry.models import Region, ScopedQuerySet


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    ACTIVE = "active", "进行中"
    CLOSED = "closed", "已结束"


class Campaign(models.Model):
    name = models.CharField("名称", max_length=100)
    region = models.ForeignKey(Region, verbose_name="范围（市）", on_delete=models.PROTECT, related_name="+")
    reference_date = models.DateField("统计基准日", help_text="年龄按此日期计算，如 2022-07-31。")
    start_date = models.DateField("开始日期")
    deadline = models.DateField("截止日期")
    screens_children = models.BooleanField("排查留守儿童", default=True)
    screens_women = models.BooleanField("排查留守妇女", default=True)
    screens_elders = models.BooleanField("排查留守老人", default=True)
    status = models.CharField(
        "状态", max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="创建人",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "摸底排查"
        verbose_name_plural = "摸底排查"
        ordering = ["-start_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["region"], condition=Q(status="active"), name="one_active_campaign_per_region"
            ),
            # A campaign is named once in its region: a resent 新建 form makes no second draft.
            models.UniqueConstraint(
                fields=["region", "name"],
                name="campaign_unique_name_in_region",
                violation_error_message="已有同名的摸底排查，请换一个名称（如加上年份）。",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=models.F("start_date")),
                name="campaign_deadline_after_start",
                violation_error_message="截止日期不能早于开始日期。",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_overdue_today(self):
        return timezone.localdate() > self.deadline


class ReturnState(models.TextChoices):
    NOT_STARTED = "not_started", "未开始"
    IN_PROGRESS = "in_progress", "填报中"
    SUBMITTED = "submitted", "已提交"
    TOWNSHIP_APPROVED = "township_approved", "乡镇已审核"
    COUNTY_APPROVED = "county_approved", "县级已审核"


# States in which a village's records are locked against the cadre's edits.
LOCKED_STATES = (ReturnState.TOWNSHIP_APPROVED, ReturnState.COUNTY_APPROVED)
# States that count as "reported" (submitted or further).
REPORTED_STATES = (ReturnState.SUBMITTED, *LOCKED_STATES)
# States in which a village has not yet reported.
OPEN_STATES = (ReturnState.NOT_STARTED, ReturnState.IN_PROGRESS)


class VillageReturnQuerySet(ScopedQuerySet):
    scope_field = "village_code"

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.filter(state__in=OPEN_STATES, campaign__deadline__lt=today)


class VillageReturn(models.Model):
    LOCKED_STATES = LOCKED_STATES

    campaign = models.ForeignKey(
        Campaign, verbose_name="摸底排查", on_delete=models.PROTECT, related_name="returns"
    )
    village = models.ForeignKey(Region, verbose_name="村（社区）", on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField("村代码", max_length=12, db_index=True, editable=False)
    state = models.CharField(
        "状态", max_length=20, choices=ReturnState.choices, default=ReturnState.NOT_STARTED, db_index=True
    )
    is_zero_return = models.BooleanField("零报告", default=False)
    snapshot = models.JSONField("提交时人数", default=dict, blank=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    submitted_on_behalf = models.BooleanField(
        "乡镇代报", default=False, help_text="本村没有村干部账号，由乡镇审核员代村填报提交。"
    )
    last_reason = models.CharField("最近退回/重新打开原因", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = VillageReturnQuerySet.as_manager()

    class Meta:
        verbose_name = "村级报表"
        verbose_name_plural = "村级报表"
        ordering = ["village_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "village"], name="one_return_per_village_and_campaign"
            ),
        ]

    def __str__(self):
        return f"{self.campaign} · {self.village}"

    @property
    def is_locked(self):
        return self.state in LOCKED_STATES

    @property
    def is_overdue(self):
        return self.state in OPEN_STATES and timezone.localdate() > self.campaign.deadline


class ReturnAction(models.TextChoices):
    START = "start", "开始填报"
    SUBMIT = "submit", "提交"
    SUBMIT_ZERO = "submit_zero", "提交零报告"
    RETURN = "return", "退回"
    APPROVE = "approve", "乡镇审核通过"
    COUNTY_APPROVE = "county_approve", "县级审核通过"
    REOPEN = "reopen", "重新打开"


class ReturnEvent(models.Model):
    """One transition of a village return: who, when, from → to, why (append-only)."""

    village_return = models.ForeignKey(
        VillageReturn, verbose_name="村级报表", on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField("操作", max_length=20, choices=ReturnAction.choices)
    from_state = models.CharField("原状态", max_length=20, choices=ReturnState.choices)
    to_state = models.CharField("新状态", max_length=20, choices=ReturnState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField("原因", max_length=200, blank=True)
    on_behalf = models.BooleanField("代村办理", default=False)
    at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "报表流转记录"
        verbose_name_plural = "报表流转记录"
        ordering = ["at", "pk"]

    def __str__(self):
        text = f"{self.get_action_display()}：{self.get_from_state_display()} → {self.get_to_state_display()}"
        return text + ("（乡镇代报）" if self.on_behalf else "")


# --- supervision (督导) ------------------------------------------------------------------------


class CountyScopedQuerySet(ScopedQuerySet):
    """Supervision rows belong to a county: scoped by its code (a township user sees none)."""

    scope_field = "county_code"


class Inspection(models.Model):
    """A supervision group's inspection of one county's screening."""

    campaign = models.ForeignKey(
        Campaign, verbose_name="摸底排查", null=True, blank=True, on_delete=models.PROTECT
    )
    county = models.ForeignKey(
        Region, verbose_name="督导县（区）", on_delete=models.PROTECT, related_name="+"
    )
    county_code = models.CharField("县代码", max_length=12, db_index=True, editable=False)
    date = models.DateField("督导日期")
    team = models.CharField("督导组成员", max_length=200)
    notes = models.TextField("督导情况", blank=True)
    findings = models.TextField("发现问题", blank=True)
    sample_seed = models.CharField("抽样种子", max_length=40, blank=True)
    sample_size = models.PositiveIntegerField("抽样数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "督导检查"
        verbose_name_plural = "督导检查"
        ordering = ["-date", "-pk"]
        constraints = [
            # A resent 新建督导检查 form opens no second inspection (another team the same day may).
            models.UniqueConstraint(
                fields=["county", "date", "team"],
                name="inspection_unique_team_day",
                violation_error_message="该县（区）当天已有这支督导组的检查记录，请在原检查中补充。",
            )
        ]

    def __str__(self):
        return f"{self.county} · {self.date:%Y-%m-%d}"


class Verdict(models.TextChoices):
    PENDING = "pending", "待核查"
    TRUE = "true", "属实"
    FALSE = "false", "不属实"
    WRONG = "wrong", "信息有误"


class SpotCheck(models.Model):
    """One sampled record of an inspection and what the inspector found."""

    inspection = models.ForeignKey(
        Inspection, verbose_name="督导检查", on_delete=models.PROTECT, related_name="checks"
    )
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    record_id = models.BigIntegerField("记录")
    village_code = models.CharField("村代码", max_length=12, db_index=True)
    verdict = models.CharField("核查结果", max_length=10, choices=Verdict.choices, default=Verdict.PENDING)
    note = models.CharField("说明", max_length=200, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核查人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_at = models.DateTimeField("核查时间", null=True, blank=True)

    class Meta:
        verbose_name = "抽查记录"
        verbose_name_plural = "抽查记录"
        ordering = ["village_code", "record_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "category", "record_id"], name="one_check_per_record"
            )
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.record_id}：{self.get_verdict_display()}"


class RectificationStatus(models.TextChoices):
    OPEN = "open", "待整改"
    DONE = "done", "已整改"
    CLOSED = "closed", "已销号"


class RectificationQuerySet(CountyScopedQuerySet):
    def overdue(self, today=None):
        return self.filter(status=RectificationStatus.OPEN, deadline__lt=today or timezone.localdate())


class Rectification(models.Model):
    """An item the county must put right (整改事项), followed until it is closed (销号)."""

    inspection = models.ForeignKey(
        Inspection, verbose_name="督导检查", on_delete=models.PROTECT, related_name="items"
    )
    county_code = models.CharField("县代码", max_length=12, db_index=True, editable=False)
    description = models.CharField("整改事项", max_length=300)
    responsible_unit = models.CharField("责任单位", max_length=100)
    deadline = models.DateField("整改期限")
    status = models.CharField(
        "状态",
        max_length=10,
        choices=RectificationStatus.choices,
        default=RectificationStatus.OPEN,
        db_index=True,
    )
    evidence = models.TextField("整改情况/佐证", blank=True)
    done_at = models.DateTimeField("整改时间", null=True, blank=True)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="最后操作人",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = "整改事项"
        verbose_name_plural = "整改事项"
        ordering = ["deadline", "pk"]
        constraints = [
            # A resent 整改事项 form files nothing twice.
            models.UniqueConstraint(
                fields=["inspection", "description"],
                name="rectification_unique_in_inspection",
                violation_error_message="本次督导已有相同的整改事项。",
            )
        ]

    def __str__(self):
        return self.description

    @property
    def is_overdue(self):
        return self.status == RectificationStatus.OPEN and timezone.localdate() > self.deadline
