from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


class Role(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", "村干部/儿童主任"
    TOWNSHIP_REVIEWER = "township_reviewer", "乡镇审核员/儿童督导员"
    COUNTY_OFFICER = "county_officer", "县级民政"
    CITY_OFFICE = "city_office", "市民政局/领导小组办公室"
    SUPERVISOR = "supervisor", "督导组成员"
    LIAISON = "liaison", "成员单位联络员"
    HOTLINE_OPERATOR = "hotline_operator", "未成年人保护热线接线员"
    SYSADMIN = "sysadmin", "系统管理员"
    SECURITY_ADMIN = "security_admin", "安全管理员"
    AUDIT_ADMIN = "audit_admin", "审计管理员"


# The level of region each role is bound to (DESIGN §1). A supervisor is bound to the city
# and may be assigned counties; the three administrators (三权分立) have no region.
ROLE_REGION_LEVEL = {
    Role.VILLAGE_CADRE: "village",
    Role.TOWNSHIP_REVIEWER: "township",
    Role.COUNTY_OFFICER: "county",
    Role.CITY_OFFICE: "city",
    Role.SUPERVISOR: "city",
    Role.LIAISON: "city",
    Role.HOTLINE_OPERATOR: "city",
    Role.SYSADMIN: None,
    Role.SECURITY_ADMIN: None,
    Role.AUDIT_ADMIN: None,
}

# The three administrators of 三权分立: nobody holds two of these, none reads personal records.
ADMIN_ROLES = (Role.SYSADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)


class OrganisationKind(models.TextChoices):
    MEMBER_UNIT = "member_unit", "领导小组成员单位"
    CIVIL_AFFAIRS = "civil_affairs", "民政部门"
    VILLAGE_COMMITTEE = "village_committee", "村（居）委会"
    OTHER = "other", "其他"


class Organisation(models.Model):
    name = models.CharField("名称", max_length=64)
    code = models.CharField(
        "单位代码",
        max_length=32,
        blank=True,
        help_text="成员单位的固定代码（如 police、education），转介和权限按它识别单位，不随名称变化。",
    )
    kind = models.CharField("类别", max_length=20, choices=OrganisationKind.choices)
    region = models.ForeignKey(
        "registry.Region", verbose_name="所在区划", null=True, blank=True, on_delete=models.PROTECT
    )
    is_leading_office = models.BooleanField(
        "领导小组办公室", default=False, help_text="领导小组办公室设在该单位（市民政局）。"
    )
    duty = models.CharField("职责分工", max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["kind", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "region"], name="organisation_unique_name_in_region"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(region__isnull=True),
                name="organisation_unique_name_without_region",
            ),
            models.UniqueConstraint(
                fields=["code", "region"],
                condition=~models.Q(code=""),
                name="organisation_unique_code_in_region",
            ),
        ]

    def __str__(self):
        return self.name


class User(AbstractUser):
    role = models.CharField("角色", max_length=20, choices=Role.choices, blank=True)
    region = models.ForeignKey(
        "registry.Region",
        verbose_name="管辖区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    assigned_regions = models.ManyToManyField(
        "registry.Region",
        verbose_name="督导负责县（区）",
        blank=True,
        related_name="supervisors",
        help_text="仅督导组成员：负责督导的县（区）；不选则为全市。",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="所在单位", null=True, blank=True, on_delete=models.PROTECT
    )
    phone = models.CharField("联系电话", max_length=20, blank=True)
    must_change_password = models.BooleanField(
        "须修改初始密码", default=False, help_text="新建账号或重置密码后，首次登录必须先修改密码。"
    )
    session_epoch = models.PositiveIntegerField(
        "会话代次", default=0, editable=False, help_text="退出或修改密码时加一，使该用户其他会话全部失效。"
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self):
        full = f"{self.last_name}{self.first_name}".strip()
        return f"{full}（{self.username}）" if full else self.username

    @property
    def display_name(self):
        return f"{self.last_name}{self.first_name}".strip() or self.username

    def clean(self):
        super().clean()
        if not self.role:
            return
        level = ROLE_REGION_LEVEL[self.role]
        if level is None:
            if self.region_id:
                raise ValidationError({"region": f"{self.get_role_display()}不绑定管辖区划。"})
            return
        if self.region is None:
            raise ValidationError({"region": f"角色“{self.get_role_display()}”必须绑定管辖区划。"})
        if self.region.level != level:
            raise ValidationError(
                {"region": f"角色“{self.get_role_display()}”应绑定{_level_label(level)}级区划。"}
            )


def _level_label(level):
    return {"village": "村", "township": "乡镇", "county": "县", "city": "市"}[level]


class ActivationKind(models.TextChoices):
    NEW_ACCOUNT = "new_account", "新账号激活"
    RESET = "reset", "重置密码"


class ActivationState(models.TextChoices):
    PENDING = "pending", "待安全管理员确认"
    ISSUED = "issued", "已发放，待本人激活"
    USED = "used", "已激活"
    CANCELLED = "cancelled", "已作废"


OPEN_ACTIVATION_STATES = (ActivationState.PENDING, ActivationState.ISSUED)


class AccountActivation(models.Model):
    """A one-time activation code for an account, in two halves held by two people (双人控制).

    The system administrator asks for it (a new account, or a reset) and is shown the first half;
    the security administrator confirms and is shown the second. Only the owner, given both
    halves, sets a password with it (and enrols a fresh second factor). Only hashes are stored.
    Workflow and rules: accounts/activation.py.
    """

    user = models.ForeignKey(User, verbose_name="账号", on_delete=models.PROTECT, related_name="activations")
    kind = models.CharField("类别", max_length=20, choices=ActivationKind.choices)
    state = models.CharField(
        "状态", max_length=20, choices=ActivationState.choices, default=ActivationState.PENDING
    )
    reason = models.CharField("原因", max_length=200)
    requested_by = models.ForeignKey(
        User, verbose_name="申请人", on_delete=models.PROTECT, related_name="activations_requested"
    )
    requested_at = models.DateTimeField("申请时间")
    confirmed_by = models.ForeignKey(
        User,
        verbose_name="确认人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activations_confirmed",
    )
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    expires_at = models.DateTimeField("有效期至")
    first_half_hash = models.CharField(max_length=128, editable=False)
    second_half_hash = models.CharField(max_length=128, blank=True, editable=False)
    failed_attempts = models.PositiveSmallIntegerField("输错次数", default=0)
    ended_at = models.DateTimeField("激活或作废时间", null=True, blank=True)
    end_reason = models.CharField("作废原因", max_length=200, blank=True)
    owner_notified_at = models.DateTimeField("已告知本人", null=True, blank=True)

    class Meta:
        verbose_name = "账号激活码"
        verbose_name_plural = "账号激活码"
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(state__in=["pending", "issued"]),
                name="activation_one_open_per_user",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="issued") | models.Q(confirmed_by__isnull=False),
                name="activation_issued_is_confirmed",
            ),
            models.CheckConstraint(
                condition=models.Q(confirmed_by__isnull=True)
                | ~models.Q(confirmed_by=models.F("requested_by")),
                name="activation_two_people",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.user}"
