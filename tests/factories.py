"""Factories for test data: regions built on real code prefixes, users bound to them, and valid
child, woman and elder records registered through the entry service."""

import itertools
import time
from base64 import b32decode
from datetime import date, timedelta

import factory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from stdnum.cn import ric

from accounts.models import Organisation, OrganisationKind, Role, User
from care import cases as care_cases
from care import hotline as care_hotline
from care import services as care_services
from care import workers as care_workers
from registry import records
from registry.choices import (
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    LivingArrangement,
    ParentStatus,
    Schooling,
    Sex,
)
from registry.forms import ChildForm, ElderForm, WomanForm
from registry.models import Child, Elder, Region, RegionLevel, Woman
from registry.records import reference_date
from workflow import clock

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


# --- records of people ---------------------------------------------------------------------
#
# Records are made through the same service the entry form calls (registry.records.record_create),
# so derived fields (village code, risk flags, left-behind type, ID warnings) and the
# IdentityClaim row are exactly what a real entry produces.

_id_serial = itertools.count(1)


def years_ago(years, days=0):
    """A birth date ``years`` full years (plus ``days``) before the registry's reference date."""
    today = reference_date()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = date(today.year - years, 2, 28)
    return day - timedelta(days=days)


def make_id_number(prefix="410922", birth_date=date(2015, 3, 5), sex=Sex.MALE, *, check=None):
    """A valid 18-character resident ID: ``prefix``, ``birth_date``, a fresh serial with the
    parity of ``sex``, and the ISO 7064 check character (or the next serial whose check is ``check``).
    """
    while True:
        serial = (next(_id_serial) % 500) * 2 + (1 if sex == Sex.MALE else 0)
        body = f"{prefix}{birth_date:%Y%m%d}{serial:03d}"
        digit = ric.calc_check_digit(body + "0")  # stdnum expects a placeholder last character
        if check is None or digit == check:
            return body + digit


class VillageFactory(RegionFactory):
    code = factory.Sequence(lambda n: f"410922109{n % 1000:03d}")
    name = factory.Sequence(lambda n: f"村{n}")
    level = RegionLevel.VILLAGE


class RecordFactory(factory.django.DjangoModelFactory):
    """A record registered through ``records.record_create`` (``created_by`` is the entering user)."""

    class Meta:
        abstract = True

    village = factory.SubFactory(VillageFactory)
    name = factory.Sequence(lambda n: f"测{n:04d}")
    sex = Sex.MALE
    birth_date = factory.LazyFunction(lambda: years_ago(9, days=40))
    id_number = factory.LazyAttribute(lambda o: make_id_number(o.village.code[:6], o.birth_date, o.sex))
    created_by = None

    @classmethod
    def _create(cls, model_class, *args, created_by=None, **kwargs):
        return records.record_create(model=model_class, user=created_by, data=kwargs)


class ChildFactory(RecordFactory):
    class Meta:
        model = Child

    name = factory.Sequence(lambda n: f"童{n:04d}")
    father_name = factory.Sequence(lambda n: f"父{n:04d}")
    father_status = ParentStatus.AWAY_WORKING
    father_work_place = "广东省东莞市"
    mother_name = factory.Sequence(lambda n: f"母{n:04d}")
    mother_status = ParentStatus.AWAY_WORKING
    mother_work_place = "浙江省杭州市"
    guardianship_type = GuardianshipType.GRANDPARENT
    guardian_name = factory.Sequence(lambda n: f"祖{n:04d}")
    guardian_relation = GuardianRelation.GRANDPARENT
    guardian_phone = "13900001111"
    guardian_assessment = GuardianAssessment.GOOD
    schooling = Schooling.PRIMARY


class WomanFactory(RecordFactory):
    class Meta:
        model = Woman

    name = factory.Sequence(lambda n: f"妇{n:04d}")
    sex = Sex.FEMALE
    birth_date = factory.LazyFunction(lambda: years_ago(35, days=40))
    husband_name = factory.Sequence(lambda n: f"夫{n:04d}")
    husband_work_place = "江苏省苏州市"
    husband_months_away = 12
    children_count = 2
    minor_children_count = 1


class ElderFactory(RecordFactory):
    class Meta:
        model = Elder

    name = factory.Sequence(lambda n: f"老{n:04d}")
    birth_date = factory.LazyFunction(lambda: years_ago(68, days=40))
    living_arrangement = LivingArrangement.ALONE
    children_count = 2
    children_away_count = 2
    min_months_away = 12


def make_child(village, **overrides):
    return ChildFactory(village=village, **overrides)


def make_woman(village, **overrides):
    return WomanFactory(village=village, **overrides)


def make_elder(village, **overrides):
    return ElderFactory(village=village, **overrides)


def form_data(record, user, **overrides):
    """What the record's edit form posts when nothing is changed, with ``overrides`` applied:
    the values the test client sends (an unticked checkbox is left out)."""
    form = FORMS[type(record)](instance=record, user=user)
    return post_data({name: form[name].value() for name in form.fields}, **overrides)


def post_data(values, **overrides):
    data = {}
    for name, value in {**values, **overrides}.items():
        if value is False or value is None:
            if value is None:
                data[name] = ""
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, date):
            data[name] = value.isoformat()
        elif isinstance(value, Region):
            data[name] = value.pk
        else:
            data[name] = value
    return data


def child_post_data(village, **overrides):
    """A valid new-child form post for ``village`` (sex and birth date left to the ID number)."""
    values = {
        "village": village,
        "name": "张小明",
        "id_number": make_id_number(village.code[:6], years_ago(9, days=40)),
        "ethnicity": "汉族",
        "health": HealthStatus.HEALTHY,
        "schooling": Schooling.PRIMARY,
        "father_name": "张大山",
        "father_status": ParentStatus.AWAY_WORKING,
        "mother_name": "李小花",
        "mother_status": ParentStatus.AWAY_WORKING,
        "guardianship_type": GuardianshipType.GRANDPARENT,
        "guardian_name": "张老汉",
        "guardian_relation": GuardianRelation.GRANDPARENT,
        "guardian_phone": "13812345678",
        "guardian_assessment": GuardianAssessment.GOOD,
        "version": "",
    }
    return post_data(values, **overrides)


def woman_post_data(village, **overrides):
    values = {
        "village": village,
        "name": "王秀英",
        "id_number": make_id_number(village.code[:6], years_ago(35, days=40), Sex.FEMALE),
        "ethnicity": "汉族",
        "health": HealthStatus.HEALTHY,
        "phone": "13712345678",
        "husband_name": "李建国",
        "husband_work_place": "江苏省苏州市",
        "husband_months_away": 12,
        "children_count": 2,
        "minor_children_count": 1,
        "version": "",
    }
    return post_data(values, **overrides)


def elder_post_data(village, **overrides):
    values = {
        "village": village,
        "name": "赵大爷",
        "id_number": make_id_number(village.code[:6], years_ago(70, days=40)),
        "ethnicity": "汉族",
        "health": HealthStatus.HEALTHY,
        "living_arrangement": LivingArrangement.ALONE,
        "children_count": 3,
        "children_away_count": 3,
        "min_months_away": 8,
        "version": "",
    }
    return post_data(values, **overrides)


FORMS = {Child: ChildForm, Woman: WomanForm, Elder: ElderForm}


# --- the second sign-in factor (accounts.otp) ------------------------------------------------


def totp_code(key, later=0):
    """The code an authenticator app shows now (``later`` 30-second steps ahead) for binary ``key``."""
    totp = TOTP(key)
    totp.time = time.time() + 30 * later
    return f"{totp.token():06d}"


def enrol_second_factor(client, next_url="/"):
    """The real enrolment page for a signed-in user with no phone yet: read the secret the page
    shows and confirm it with the current code. Returns (binary key, the confirming response)."""
    page = client.get(reverse("otp_enrol"), {"next": next_url})
    key = b32decode(page.context["secret"].replace(" ", ""))
    response = client.post(reverse("otp_enrol"), {"token": totp_code(key), "next": next_url})
    return key, response


def spy(function, calls):
    """``function``, still doing its work, that also appends each call's arguments to ``calls``."""

    def spied(*args, **kwargs):
        calls.append(args)
        return function(*args, **kwargs)

    return spied


def roster_json(errors, *, rows=6, valid=2):
    """import_roster --json's object for a file of ``rows`` data rows, ``valid`` of them new and
    valid, and ``errors`` as (row, column, message)."""
    return {
        "rows": rows,
        "valid": valid,
        "invalid": rows - valid,
        "created": valid,
        "updated": 0,
        "unchanged": 0,
        "errors": [{"row": r, "column": c, "message": m} for r, c, m in errors],
    }


# --- the standing cast, for module-scoped worlds ------------------------------------------------


def standing_cast(tree):
    """The standing cast over ``tree`` (a ``region_tree()``): tests/conftest.py's ``cast`` fixture,
    and a module that builds its world once (tests/test_scope_sweep.py)."""
    county1, county2 = tree["410922"], tree["410923"]
    return {
        "cadre_a": UserFactory(username="cadre_a", role=Role.VILLAGE_CADRE, region=tree["410922100201"]),
        "cadre_b": UserFactory(username="cadre_b", role=Role.VILLAGE_CADRE, region=tree["410922100202"]),
        "cadre_c": UserFactory(username="cadre_c", role=Role.VILLAGE_CADRE, region=tree["410923100201"]),
        "township": UserFactory(username="township", role=Role.TOWNSHIP_REVIEWER, region=tree["410922100"]),
        "county": UserFactory(username="county", role=Role.COUNTY_OFFICER, region=county1),
        "city": UserFactory(username="city", role=Role.CITY_OFFICE, region=tree["4109"]),
        "supervisor": UserFactory(
            username="supervisor", role=Role.SUPERVISOR, region=tree["4109"], assigned=[county2]
        ),
        "liaison": UserFactory(username="liaison", role=Role.LIAISON, region=tree["4109"]),
        "sysadmin": UserFactory(username="sysadmin", role=Role.SYSADMIN, region=None, is_staff=True),
    }


# --- the care loop (issue 15) -----------------------------------------------------------------


class VisitFactory(factory.Factory):
    """A home visit recorded through ``care.services.visit_record`` (so the child's ChildCare row
    follows): ``days_ago`` before today, by ``user`` (the village's cadre or township reviewer),
    every area 正常 unless overridden (``safety_concern=True, safety_note=…``)."""

    class Meta:
        model = dict

    visited_on = None
    way = "home"
    met = "儿童本人和祖母"
    needs = ""
    next_step = ""

    @classmethod
    def _create(cls, model_class, *args, child, user, days_ago=0, visited_on=None, **data):
        day = visited_on or clock.today() - timedelta(days=days_ago)
        return care_services.visit_record(child=child, user=user, data={"visited_on": day, **data})


# --- reports, cases and referrals (issue 15 items 3 and 4) ---------------------------------------


def member_unit(code, name):
    """A member unit of the leading group (教育局 ``education``, 公安局 ``police`` …), made once."""
    unit, _ = Organisation.objects.get_or_create(
        name=name, region=None, defaults={"code": code, "kind": OrganisationKind.MEMBER_UNIT}
    )
    return unit


def make_case(child, user, *, kind="unsupervised", description="儿童独自在家三天，无人照看。", **fields):
    """A report about ``child`` opened through ``care.cases.case_open`` by ``user``."""
    return care_cases.case_open(
        user=user, village=child.village, child=child, kind=kind, description=description, **fields
    )


def make_referral(case, user, unit, *, need="辍学劝返", days=15, **fields):
    """A referral of ``case``'s child to ``unit`` through ``care.cases.referral_create``."""
    return care_cases.referral_create(
        user=user,
        child=case.child,
        case=case,
        unit=unit,
        need=need,
        due_on=clock.today() + timedelta(days=days),
        **fields,
    )


# --- who visits and the hotline (issue 15 items 5 and 6) -----------------------------------------


def make_care_worker(region, user, *, name="张主任", phone="13800000001", days_ago=30, **fields):
    """A village's 儿童主任 (a township's 儿童督导员) named by ``user`` through care.workers."""
    kind = "director" if region.level == "village" else "supervisor"
    return care_workers.care_worker_appoint(
        user=user, region=region, kind=kind, name=name, phone=phone,
        since=clock.today() - timedelta(days=days_ago), **fields,
    )  # fmt: skip


def make_call(operator, region, *, minutes_ago=5, summary="来电反映邻居家孩子无人照看。", **fields):
    """A consultation (or, with ``outcome="report"``, a report) logged through care.hotline."""
    data = {"caller_kind": "neighbour", "outcome": "consultation", "answer": "已告知可向村委会反映。"}
    return care_hotline.hotline_call_log(
        user=operator, region=region, summary=summary,
        received_at=timezone.now() - timedelta(minutes=minutes_ago), **{**data, **fields},
    )  # fmt: skip
