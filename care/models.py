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


# --- reports and cases: 强制报告 → 应急处置 → 评估帮扶 → 监护干预 (care/workflows.py: CASE) ---------


class CaseStep(models.TextChoices):
    ACCEPT_URGENT = "accept_urgent", "紧急报告受理（自报告起）"
    ACCEPT_NORMAL = "accept_normal", "一般报告受理（自报告起）"
    ASSESS = "assess", "完成评估（自受理起）"
    PLAN = "plan", "制定帮扶计划（自受理起）"
    PROVISIONAL = "provisional", "村里补登尚未登记的儿童（自报告起）"


class CaseDeadline(models.Model):
    """How long each step of a case may take (data an administrator edits; the defaults are in
    care.rules.DEFAULT_CASE_HOURS). Past it, the case escalates (care.rules.escalation)."""

    step = models.CharField("环节", max_length=20, choices=CaseStep.choices, unique=True)
    hours = models.PositiveIntegerField("时限（小时）")

    class Meta:
        verbose_name = "个案时限"
        verbose_name_plural = "个案时限"
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gte=1, hours__lte=24 * 90),
                name="case_deadline_hours_range",
                violation_error_message="时限应在 1 小时至 90 天之间。",
            )
        ]

    def __str__(self):
        return f"{self.get_step_display()}：{self.hours} 小时"


class ReportKind(models.TextChoices):
    UNSUPERVISED = "unsupervised", "脱离监护单独居住或失踪"
    GUARDIAN_FAILS = "guardian_fails", "监护人丧失监护能力或不履行监护责任"
    DOMESTIC_VIOLENCE = "domestic_violence", "疑似遭受家庭暴力"
    HARM = "harm", "疑似遭受意外伤害或不法侵害"
    DROPOUT = "dropout", "失学辍学"
    ILL_UNTREATED = "ill_untreated", "重病无人就医"
    OTHER = "other", "其他"


# Abuse: the content of these cases is seen only by county civil affairs, the city office and the
# 公安 liaison (accounts.policy.can_read_case); everyone else sees that an open case exists.
SENSITIVE_KINDS = (ReportKind.DOMESTIC_VIOLENCE, ReportKind.HARM)


class ReporterKind(models.TextChoices):
    VILLAGE = "village", "村（居）委会/儿童主任"
    TOWNSHIP = "township", "乡镇（街道）"
    CIVIL_AFFAIRS = "civil_affairs", "民政部门"
    SCHOOL = "school", "学校"
    KINDERGARTEN = "kindergarten", "幼儿园"
    HOSPITAL = "hospital", "医疗机构"
    POLICE = "police", "公安机关"
    HOTLINE = "hotline", "未成年人保护热线"
    OTHER_UNIT = "other_unit", "其他单位"
    SYSTEM = "system", "系统（登记信息触发）"


class Urgency(models.TextChoices):
    URGENT = "urgent", "紧急"
    NORMAL = "normal", "一般"


class CaseState(models.TextChoices):
    REPORTED = "reported", "待受理"
    DISPOSING = "disposing", "应急处置"
    ASSESSED = "assessed", "已评估，待定帮扶计划"
    HELPING = "helping", "帮扶中"
    CLOSING = "closing", "待县级批准结案"
    CLOSED = "closed", "已结案"
    REJECTED = "rejected", "不予受理"


OPEN_CASE_STATES = (
    CaseState.REPORTED,
    CaseState.DISPOSING,
    CaseState.ASSESSED,
    CaseState.HELPING,
    CaseState.CLOSING,
)


class Escalation(models.IntegerChoices):
    NONE = 0, "未逾期"
    COUNTY = 1, "已逾期，县级督办"
    CITY = 2, "严重逾期，市级督办"


class GuardianshipMeasure(models.TextChoices):
    NONE = "", "未采取"
    TEMPORARY = "temporary", "临时监护（未成年人保护法第92、93条）"
    LONG_TERM = "long_term", "长期监护（未成年人保护法第94条）"


class CaseQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(state__in=OPEN_CASE_STATES)


class Case(models.Model):
    """A report that a child may be in danger, and everything done about it (one case per report).

    A report about a child not yet registered names the child provisionally; the village must
    register the child (linking the record) or say why not within ``provisional_due_on``.
    """

    child = models.ForeignKey(
        Child, verbose_name="儿童", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    provisional_name = models.CharField("儿童姓名（尚未登记）", max_length=30, blank=True)
    provisional_note = models.CharField("儿童情况（尚未登记）", max_length=200, blank=True)
    provisional_due_on = models.DateField("村里补登或说明期限", null=True, blank=True)
    provisional_resolution = models.CharField(
        "未登记说明", max_length=200, blank=True, help_text="村里核实后不予登记的原因（如：非本村儿童）。"
    )
    provisional_resolved_at = models.DateTimeField("补登或说明时间", null=True, blank=True)
    village = models.ForeignKey(
        "registry.Region", verbose_name="村（社区）", on_delete=models.PROTECT, related_name="+"
    )
    village_code = models.CharField("村代码", max_length=12)
    kind = models.CharField("情形", max_length=20, choices=ReportKind.choices)
    sensitive = models.BooleanField("涉侵害（限定可见）", default=False)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    reporter_kind = models.CharField("报告人类别", max_length=20, choices=ReporterKind.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报告人", null=True, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField("报告时间")
    description = models.TextField("发生了什么")
    place = models.CharField("地点", max_length=100, blank=True)
    happened_at = models.DateTimeField("发现时间", null=True, blank=True)
    police_reported_at = models.DateTimeField("向公安报告时间", null=True, blank=True)
    police_receipt = models.CharField("公安受案回执号", max_length=60, blank=True)
    immediate_action = models.CharField("已采取的紧急措施", max_length=300, blank=True)
    state = models.CharField("状态", max_length=12, choices=CaseState.choices, default=CaseState.REPORTED)
    state_since = models.DateTimeField("进入当前状态")
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)
    deadline_at = models.DateTimeField("当前环节期限", null=True, blank=True)
    escalation = models.PositiveSmallIntegerField(
        "督办级别", choices=Escalation.choices, default=Escalation.NONE
    )
    assessment_safety = models.CharField("安全处境", max_length=300, blank=True)
    assessment_guardianship = models.CharField("监护情况", max_length=300, blank=True)
    assessment_health = models.CharField("身心健康", max_length=300, blank=True)
    serious_harm = models.BooleanField("评估认定受到严重伤害", default=False)
    guardianship_measure = models.CharField(
        "监护措施", max_length=12, choices=GuardianshipMeasure.choices, blank=True, default=""
    )
    outcome = models.CharField("结案情况", max_length=300, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = "强制报告个案"
        verbose_name_plural = "强制报告个案"
        ordering = ["-reported_at", "-pk"]
        indexes = [
            models.Index(fields=["village_code", "state"], name="case_scope_state"),
            models.Index(fields=["state", "deadline_at"], name="case_state_deadline"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(child__isnull=False) | ~Q(provisional_name=""),
                name="case_names_a_child",
                violation_error_message="请选择已登记的儿童，或填写尚未登记儿童的姓名。",
            ),
            models.CheckConstraint(condition=~Q(description=""), name="case_has_description"),
        ]

    def __str__(self):
        return f"个案 {self.pk}（{self.get_kind_display()}）"

    @property
    def is_open(self):
        return self.state in OPEN_CASE_STATES


class CaseEvent(models.Model):
    """One step of a case's timeline: a transition of the CASE table, a disposal, an escalation."""

    case = models.ForeignKey(Case, verbose_name="个案", on_delete=models.PROTECT, related_name="events")
    action = models.CharField("操作", max_length=20)
    label = models.CharField("操作名称", max_length=30)
    from_state = models.CharField("原状态", max_length=12, blank=True)
    to_state = models.CharField("新状态", max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "个案进展"
        verbose_name_plural = "个案进展"
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.label} {self.at:%Y-%m-%d %H:%M}"


class DisposalKind(models.TextChoices):
    RETURN_OR_ENTRUST = "return_or_entrust", "责令父母返回或确定受委托监护人"
    ADMONISH = "admonish", "训诫"
    ESCORT_RELATIVE = "escort_relative", "护送至临时监护：亲属"
    ESCORT_COMMITTEE = "escort_committee", "护送至临时监护：村（居）委会"
    ESCORT_RESCUE = "escort_rescue", "护送至临时监护：救助管理机构"
    ESCORT_WELFARE = "escort_welfare", "护送至临时监护：儿童福利机构"
    MISSING_SEARCH = "missing_search", "失踪快速查找"
    SHELTER = "shelter", "临时庇护"
    OTHER = "other", "其他"


class Disposal(models.Model):
    case = models.ForeignKey(Case, verbose_name="个案", on_delete=models.PROTECT, related_name="disposals")
    kind = models.CharField("处置措施", max_length=20, choices=DisposalKind.choices)
    note = models.CharField("说明", max_length=300, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "应急处置措施"
        verbose_name_plural = "应急处置措施"
        ordering = ["done_at", "pk"]

    def __str__(self):
        return self.get_kind_display()


class HelpKind(models.TextChoices):
    GUARDIANSHIP_GUIDANCE = "guardianship_guidance", "监护指导"
    MEDICAL = "medical", "医疗救治"
    COUNSELLING = "counselling", "心理疏导"
    BEHAVIOUR = "behaviour", "行为矫治"
    SOCIAL = "social", "社会融入"
    FAMILY = "family", "家庭关系调适"
    SCHOOLING = "schooling", "劝返复学"
    ASSISTANCE = "assistance", "社会救助"
    OTHER = "other", "其他"


class PlanItem(models.Model):
    case = models.ForeignKey(Case, verbose_name="个案", on_delete=models.PROTECT, related_name="plan_items")
    kind = models.CharField("帮扶内容", max_length=24, choices=HelpKind.choices)
    owner = models.CharField("责任人/单位", max_length=60)
    due_on = models.DateField("完成期限")
    done_on = models.DateField("完成日期", null=True, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "帮扶计划事项"
        verbose_name_plural = "帮扶计划事项"
        ordering = ["due_on", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()}（{self.owner}）"


# --- referrals to member units (care/workflows.py: REFERRAL) -------------------------------------


class ReferralState(models.TextChoices):
    SENT = "sent", "待接收"
    ACCEPTED = "accepted", "办理中"
    DECLINED = "declined", "已退回"
    DONE = "done", "已办结"


OPEN_REFERRAL_STATES = (ReferralState.SENT, ReferralState.ACCEPTED)


class ReferralQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(state__in=OPEN_REFERRAL_STATES)


class Referral(models.Model):
    """A need referred to one member unit of the leading group, with a deadline (转介)."""

    child = models.ForeignKey(Child, verbose_name="儿童", on_delete=models.PROTECT, related_name="referrals")
    case = models.ForeignKey(
        Case, verbose_name="个案", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    visit = models.ForeignKey(
        Visit, verbose_name="走访", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    village_code = models.CharField("村代码", max_length=12)
    unit = models.ForeignKey(
        "accounts.Organisation", verbose_name="转介单位", on_delete=models.PROTECT, related_name="referrals"
    )
    need = models.CharField("需要办理的事项", max_length=300)
    due_on = models.DateField("办理期限")
    state = models.CharField("状态", max_length=10, choices=ReferralState.choices, default=ReferralState.SENT)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="转介人", on_delete=models.PROTECT, related_name="+"
    )
    referred_at = models.DateTimeField("转介时间")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="办理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answer = models.CharField("办理情况或退回理由", max_length=300, blank=True)
    updated_at = models.DateTimeField("最近变动", auto_now=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = "转介"
        verbose_name_plural = "转介"
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["unit", "state", "due_on"], name="referral_unit_state_due"),
            models.Index(fields=["village_code", "state"], name="referral_scope_state"),
        ]

    def __str__(self):
        return f"转介 {self.pk}：{self.unit}"


# --- who visits: each village's 儿童主任, each township's 儿童督导员 (民发〔2019〕34号) -----------------


class CareWorkerKind(models.TextChoices):
    DIRECTOR = "director", "儿童主任"
    SUPERVISOR = "supervisor", "儿童督导员"


# The level of region each kind serves.
CARE_WORKER_LEVEL = {CareWorkerKind.DIRECTOR: "village", CareWorkerKind.SUPERVISOR: "township"}


class CareWorkerQuerySet(ScopedQuerySet):
    scope_field = "region_code"

    def current(self):
        return self.filter(until__isnull=True)


class CareWorker(models.Model):
    """A named child director of a village or child supervisor of a township, from ``since`` until
    ``until`` (open: serving now). A new appointment ends the previous one; none is deleted."""

    kind = models.CharField("类别", max_length=12, choices=CareWorkerKind.choices)
    region = models.ForeignKey(
        "registry.Region", verbose_name="村（社区）或乡镇", on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField("区划代码", max_length=12)
    name = models.CharField("姓名", max_length=30)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="平台账号",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    since = models.DateField("任职日期")
    until = models.DateField("离任日期", null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField("登记时间")

    objects = CareWorkerQuerySet.as_manager()

    class Meta:
        verbose_name = "儿童主任/儿童督导员"
        verbose_name_plural = "儿童主任/儿童督导员"
        ordering = ["region_code", "kind", "-since", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind"],
                condition=Q(until__isnull=True),
                name="careworker_one_current_per_region",
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=models.F("since")),
                name="careworker_until_after_since",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"


class SupervisionDiary(models.Model):
    """A child supervisor's monthly 督导日志: the villages visited that month and what was found."""

    township = models.ForeignKey(
        "registry.Region", verbose_name="乡镇", on_delete=models.PROTECT, related_name="+"
    )
    township_code = models.CharField("乡镇代码", max_length=12)
    month = models.DateField("月份", help_text="该月第一天")
    villages = models.ManyToManyField("registry.Region", verbose_name="督导的村（社区）", related_name="+")
    note = models.TextField("督导情况")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField("记录时间")

    class Meta:
        verbose_name = "督导日志"
        verbose_name_plural = "督导日志"
        ordering = ["-month", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["township", "month"], name="diary_one_per_township_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="diary_month_first_day"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} 督导日志"


# --- the city's minors-protection hotline (opened 2021-08-24) ----------------------------------


class CallerKind(models.TextChoices):
    CHILD = "child", "儿童本人"
    PARENT = "parent", "父母或监护人"
    RELATIVE = "relative", "其他亲属"
    NEIGHBOUR = "neighbour", "邻居或村民"
    SCHOOL = "school", "学校或老师"
    OTHER = "other", "其他"


class CallOutcome(models.TextChoices):
    REPORT = "report", "转为强制报告"
    CONSULTATION = "consultation", "咨询（已当场解答）"


class HotlineCall(models.Model):
    """A call to the hotline: who called, from where, what about, and what it became — a report
    (a case) or a consultation answered on the spot. The callback number is masked to everyone but
    the operators."""

    received_at = models.DateTimeField("来电时间")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接线员", on_delete=models.PROTECT, related_name="+"
    )
    caller_kind = models.CharField("来电人", max_length=12, choices=CallerKind.choices)
    callback_number = models.CharField("回拨电话", max_length=20, blank=True)
    region = models.ForeignKey(
        "registry.Region", verbose_name="所在地区", on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField("区划代码", max_length=12)
    summary = models.TextField("来电内容")
    child = models.ForeignKey(
        Child, verbose_name="匹配的儿童", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField("处理结果", max_length=14, choices=CallOutcome.choices)
    case = models.OneToOneField(
        Case, verbose_name="转成的个案", null=True, blank=True, on_delete=models.PROTECT, related_name="call"
    )
    answer = models.CharField("解答内容", max_length=300, blank=True)

    class Meta:
        verbose_name = "热线来电"
        verbose_name_plural = "热线来电"
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="report") | Q(case__isnull=False), name="call_report_has_case"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="consultation") | ~Q(answer=""), name="call_consultation_has_answer"
            ),
        ]

    def __str__(self):
        return f"{self.received_at:%Y-%m-%d %H:%M} 来电"


class VillageCareCounts(models.Model):
    """A village's care counts for one day (children by level, visits due and overdue), kept by
    care/counting.py: refreshed with every care write of the village and rebuilt for the whole city
    by the worker every hour. The boards read these rows for today when all are current — counting
    970,000 ChildCare rows for the city's board took 215–335 ms (bench/care.py), these rows 1–2 ms —
    and count live otherwise (another day, stale rows, levels edited since)."""

    village_code = models.CharField("村代码", max_length=12, unique=True)
    on = models.DateField("统计日期")
    levels_key = models.CharField("走访间隔", max_length=40, help_text="计算时各等级的走访间隔（天）")
    children = models.PositiveIntegerField("在册儿童", default=0)
    l1 = models.PositiveIntegerField("一级", default=0)
    l2 = models.PositiveIntegerField("二级", default=0)
    l3 = models.PositiveIntegerField("三级", default=0)
    l4 = models.PositiveIntegerField("四级", default=0)
    due = models.PositiveIntegerField("本周应访", default=0)
    overdue = models.PositiveIntegerField("逾期", default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "村关爱统计"
        verbose_name_plural = "村关爱统计"

    def __str__(self):
        return f"{self.village_code} {self.on}"
