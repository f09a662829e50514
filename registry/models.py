"""The region tree and the scoping every record model shares.

A region's 12-digit statistical code is a prefix of every region below it once its trailing
zeros are cut to the level's significant length (DESIGN §3), so "everything in 清丰县" is
``code LIKE '410922%'``. Scoping and aggregation are prefix operations, never tree walks.
"""

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from accounts import policy


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县（区）"
    TOWNSHIP = "township", "乡镇（街道）"
    VILLAGE = "village", "村（社区）"


# Significant digits of a code at each level; the rest of the 12 digits are zeros.
PREFIX_LENGTH = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
}
LEVEL_ORDER = list(PREFIX_LENGTH)


def child_level(level):
    """The level directly below ``level``, or None below a village."""
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def full_code(code):
    """Pad a 2/4/6/9-digit code to the 12-digit statistical code."""
    return code.ljust(12, "0")


class ScopedQuerySet(models.QuerySet):
    """Scoping by region-code prefix, shared by Region and every record model.

    ``scope_field`` names the (indexed) 12-digit code column the prefix applies to.
    """

    scope_field = "village_code"

    def in_region(self, region):
        return self.filter(**{f"{self.scope_field}__startswith": region.prefix})

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
