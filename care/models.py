"""The care loop (DESIGN §7): each child's risk level and the home visits that follow it.

- ``RiskLevel``: the four levels (一级/红 … 四级/绿) as data an administrator edits, each with its
  visit interval (no national frequency exists: the defaults are the city's, editable).
- ``ChildCare``: one row per registered child, kept by care/services.py — the level the rules
  give (with reasons), a reviewer's override until its review date, and the date the visit clock
  counts from. Boards count these rows; a rule never runs per row in a query.
- ``LevelOverride``: every override ever set, with its reason (history; never deleted).
- ``Visit``: a home visit (走访/探访); never deleted — a correction is a new row that replaces it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.models import Child, ScopedQuerySet


class LevelColour(models.TextChoices):
    RED = "red", "红"
    ORANGE = "orange", "橙"
    YELLOW = "yellow", "黄"
    GREEN = "green", "绿"


class RiskLevel(models.Model):
    rank = models.PositiveSmallIntegerField(
        "级别序号", unique=True, help_text="1 为最高风险（一级），4 为最低（四级）。"
    )
    name = models.CharField("名称", max_length=10, unique=True)
    colour = models.CharField("颜色", max_length=10, choices=LevelColour.choices)
    meaning = models.CharField("含义", max_length=100)
    visit_interval_days = models.PositiveSmallIntegerField(
        "走访间隔（天）", help_text="距上次走访满这么多天即到期应访；次日起为逾期。"
    )

    class Meta:
        verbose_name = "风险等级"
        verbose_name_plural = "风险等级"
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=4), name="risk_level_rank_1_to_4"),
            models.CheckConstraint(
                condition=Q(visit_interval_days__gte=1, visit_interval_days__lte=366),
                name="risk_level_interval_1_to_366",
                violation_error_message="走访间隔应在 1 至 366 天之间。",
            ),
        ]

    def __str__(self):
        return f"{self.name}（{self.get_colour_display()}）"


class ChildCareQuerySet(ScopedQuerySet):
    def in_register(self):
        return self.filter(in_register=True)


class ChildCare(models.Model):
    child = models.OneToOneField(
        Child, verbose_name="儿童", primary_key=True, on_delete=models.PROTECT, related_name="care"
    )
    village_code = models.CharField("村代码", max_length=12)
    in_register = models.BooleanField("在册", default=True)
    computed_rank = models.PositiveSmallIntegerField("评定等级")
    reasons = models.JSONField("评定依据", default=list)
    override_rank = models.PositiveSmallIntegerField("调整后等级", null=True, blank=True)
    override_until = models.DateField("调整有效至", null=True, blank=True)
    counted_from = models.DateField("走访计时起点", help_text="最近一次走访的日期；从未走访的，为登记日期。")
    last_visit_on = models.DateField("最近走访", null=True, blank=True)
    visit_count = models.PositiveIntegerField("走访次数", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = ChildCareQuerySet.as_manager()

    class Meta:
        verbose_name = "儿童关爱状态"
        verbose_name_plural = "儿童关爱状态"
        indexes = [
            models.Index(fields=["village_code", "counted_from"], name="childcare_village_clock"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(computed_rank__gte=1, computed_rank__lte=4), name="childcare_rank"
            ),
            models.CheckConstraint(
                condition=Q(override_rank__isnull=True, override_until__isnull=True)
                | Q(override_rank__gte=1, override_rank__lte=4, override_until__isnull=False),
                name="childcare_override_has_rank_and_date",
            ),
        ]

    def __str__(self):
        return f"儿童记录 {self.child_id} 的关爱状态"

    def rank_on(self, day):
        """The level in force on ``day``: a reviewer's override until its review date, else the rules'."""
        if self.override_rank and self.override_until and day < self.override_until:
            return self.override_rank
        return self.computed_rank


class LevelOverride(models.Model):
    child = models.ForeignKey(
        Child, verbose_name="儿童", on_delete=models.PROTECT, related_name="level_overrides"
    )
    computed_rank = models.PositiveSmallIntegerField("当时评定等级")
    rank = models.PositiveSmallIntegerField("调整为")
    reason = models.CharField("调整理由", max_length=300)
    until = models.DateField("有效至（下次复核日期）")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="调整人", on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField("调整时间")

    class Meta:
        verbose_name = "风险等级调整"
        verbose_name_plural = "风险等级调整"
        ordering = ["-set_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=4), name="leveloverride_rank"),
        ]

    def __str__(self):
        return f"儿童记录 {self.child_id} 调整为 {self.rank} 级"


class VisitWay(models.TextChoices):
    HOME = "home", "入户"
    PHONE = "phone", "电话"
    VIDEO = "video", "视频"
    SCHOOL = "school", "在校"


# The five areas a visit looks at, in the order the form asks them: (field prefix, label).
AREAS = (
    ("guardianship", "监护"),
    ("safety", "安全"),
    ("health", "健康"),
    ("study", "学业"),
    ("mind", "心理"),
)


class VisitQuerySet(ScopedQuerySet):
    def current(self):
        """Visits as they stand: a corrected visit is replaced by its correction."""
        return self.filter(replaced_by__isnull=True)


class Visit(models.Model):
    child = models.ForeignKey(Child, verbose_name="儿童", on_delete=models.PROTECT, related_name="visits")
    village_code = models.CharField("村代码", max_length=12)
    visited_on = models.DateField("走访日期")
    way = models.CharField("方式", max_length=10, choices=VisitWay.choices, default=VisitWay.HOME)
    met = models.CharField("见到的人", max_length=60, help_text="如：儿童本人、祖母")
    guardianship_concern = models.BooleanField("监护有问题", default=False)
    guardianship_note = models.CharField("监护情况", max_length=200, blank=True)
    safety_concern = models.BooleanField("安全有问题", default=False)
    safety_note = models.CharField("安全情况", max_length=200, blank=True)
    health_concern = models.BooleanField("健康有问题", default=False)
    health_note = models.CharField("健康情况", max_length=200, blank=True)
    study_concern = models.BooleanField("学业有问题", default=False)
    study_note = models.CharField("学业情况", max_length=200, blank=True)
    mind_concern = models.BooleanField("心理有问题", default=False)
    mind_note = models.CharField("心理情况", max_length=200, blank=True)
    needs = models.CharField("发现的需求", max_length=300, blank=True)
    next_step = models.CharField("下一步", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)
    corrects = models.OneToOneField(
        "self",
        verbose_name="更正的记录",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    correction_reason = models.CharField("更正原因", max_length=200, blank=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = "走访记录"
        verbose_name_plural = "走访记录"
        ordering = ["-visited_on", "-pk"]
        indexes = [
            models.Index(fields=["child", "-visited_on"], name="visit_child_date"),
            models.Index(fields=["village_code", "visited_on"], name="visit_village_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(correction_reason=""),
                name="visit_correction_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.visited_on} {self.get_way_display()}走访"

    def concerns(self):
        """The labels of the areas where this visit found a concern, in the form's order."""
        return [label for area, label in AREAS if getattr(self, f"{area}_concern")]

    def findings(self):
        """[(label, concern, note)] for the five areas."""
        return [
            (label, getattr(self, f"{area}_concern"), getattr(self, f"{area}_note")) for area, label in AREAS
        ]
