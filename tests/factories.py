"""Factories for test data: regions built on real code prefixes, users bound to them."""

import factory

from accounts.models import Organisation, OrganisationKind, Role, User
from registry.models import Region, RegionLevel

PASSWORD = "Test-pass-2022"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"4109{n:02d}000000")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = RegionLevel.COUNTY


def region_tree(city="410900", counties=("410922", "410923")):
    """A city with two counties, two townships each and two villages each township.

    Returns a dict keyed by code prefix ('4109', '410922', '410922100', '410922100201', ...).
    """
    tree = {}
    province = RegionFactory(code="410000000000", name="河南省", level=RegionLevel.PROVINCE)
    c = RegionFactory(code=city.ljust(12, "0"), name="濮阳市", level=RegionLevel.CITY, parent=province)
    tree[city[:4]] = c
    for ci, county_code in enumerate(counties):
        county = RegionFactory(
            code=county_code.ljust(12, "0"), name=f"县{ci + 1}", level=RegionLevel.COUNTY, parent=c
        )
        tree[county_code] = county
        for ti, t in enumerate(("100", "101")):
            township = RegionFactory(
                code=f"{county_code}{t}000",
                name=f"县{ci + 1}镇{ti + 1}",
                level=RegionLevel.TOWNSHIP,
                parent=county,
            )
            tree[township.prefix] = township
            for vi, v in enumerate(("201", "202")):
                village = RegionFactory(
                    code=f"{county_code}{t}{v}",
                    name=f"县{ci + 1}镇{ti + 1}村{vi + 1}",
                    level=RegionLevel.VILLAGE,
                    parent=township,
                )
                tree[village.code] = village
    return tree


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = OrganisationKind.MEMBER_UNIT


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    last_name = "测"
    first_name = factory.Sequence(lambda n: f"试{n}")
    role = Role.VILLAGE_CADRE
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def assigned(self, create, extracted, **kwargs):
        if extracted:
            self.assigned_regions.set(extracted)
        if create:
            self.save()
