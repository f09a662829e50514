"""Synthetic demo data for the real counties and townships of a city (marked demo in README):
villages, and a registry of left-behind children, women and elders in them.

Deterministic: each township's villages come from a random generator seeded with its code, the
registry from one generator with a fixed seed, so loading twice gives the same data.
"""

import datetime
import itertools
import random
from dataclasses import dataclass

from django.db import transaction
from simple_history.utils import bulk_create_with_history
from stdnum.cn import ric

from registry import rules
from registry.choices import (
    Assistance,
    GuardianAssessment,
    GuardianRelation,
    GuardianshipType,
    HealthStatus,
    HistorySource,
    LivingArrangement,
    ParentStatus,
    Schooling,
    Sex,
)
from registry.models import Child, Elder, IdentityClaim, Region, RegionLevel, Woman, full_code
from registry.records import derive, reference_date
from registry.services import villages_load


def _table(*pairs):
    """``(value, weight)`` pairs as (values, cumulative weights) for ``random.choices``."""
    return [value for value, _ in pairs], list(itertools.accumulate(weight for _, weight in pairs))


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔向汤"
)
VILLAGE_SUFFIXES = (
    "庄",
    "寨",
    "屯",
    "楼",
    "集",
    "营",
    "店",
    "湾",
    "口",
    "桥",
    "岗",
    "堤",
    "固",
    "庙",
    "家",
    "辛庄",
    "新庄",
    "后庄",
    "前庄",
    "东庄",
    "西庄",
    "大庄",
    "小庄",
    "北街",
    "南街",
)
COMMUNITY_WORDS = (
    "和平",
    "幸福",
    "建设",
    "振兴",
    "文化",
    "胜利",
    "东方",
    "阳光",
    "民主",
    "繁荣",
    "人和",
    "安康",
)


def _village_rows(township, rng):
    """(line, code, name, township_code) rows for 20–40 villages of one township."""
    count = rng.randint(20, 40)
    is_street = township.name.endswith("街道")
    names = set()
    while len(names) < count:
        if is_street:
            names.add(f"{rng.choice(COMMUNITY_WORDS)}{rng.choice('东西南北中新')}社区")
        else:
            names.add(f"{rng.choice(SURNAMES)}{rng.choice(VILLAGE_SUFFIXES)}村")
    first = 1 if is_street else 201  # 居委会 codes 0xx, 村委会 codes 2xx, as in the statistical codes
    return [
        (index, f"{township.prefix}{first + index:03d}", name, township.code)
        for index, name in enumerate(sorted(names))
    ]


def demo_villages_load(*, city):
    """Generate and load the demo villages of every township of ``city``; returns the load result."""
    rows = []
    for township in Region.objects.in_region(city).at_level(RegionLevel.TOWNSHIP):
        rows += _village_rows(township, random.Random(int(township.code)))
    return villages_load(rows=[(line, *row[1:]) for line, row in enumerate(rows, start=2)])


# --- The synthetic registry ------------------------------------------------------------------
#
# Left-behind children, women and elders for the demo villages: made-up people with valid ID
# numbers, ages counted on ``reference_date()`` (the running campaign's, else today). Every child
# is still under 16 and every woman under 60 BIRTHDAY_MARGIN after that date, so a demo
# database stays valid that long; after that its oldest children age out, as real ones would.

DEMO_CHILDREN = 15_362  # the 2022 campaign's total (DESIGN §1)
DEMO_WOMEN = 3_712
DEMO_ELDERS = 2_486
REGISTRY_SEED = 410900_2022
BIRTHDAY_MARGIN = datetime.timedelta(days=30)
HOME_VILLAGE_MIN_CHILDREN = 6
BATCH_SIZE = 2_000

CHILD_GIVEN = {
    Sex.MALE: "浩宇轩博文俊杰泽睿铭航嘉豪鸣晨阳逸辰昊然凯瑞磊鹏旭帆梓子一天佳明诚哲涛宸",
    Sex.FEMALE: "涵萱欣怡雨彤诗琪梦瑶佳悦可馨思雅婷静雪晴若妍子一紫依语嘉梓心月蕊",
}
ADULT_GIVEN = {
    Sex.MALE: "伟强磊军勇杰涛超明刚平辉鹏华飞鑫波斌宇浩凯健俊帅亮志红新建国海永",
    Sex.FEMALE: "丽娜静敏燕艳娟霞芳玲婷慧莉红梅琳雪丹萍颖洁晶秀英凤霞兰翠",
}
ELDER_GIVEN = {
    Sex.MALE: (
        "建国 国强 志明 德福 保全 振华 金生 永红 卫东 文和 长海 学军 国庆 得胜 福林 春生 "
        "振山 广才 殿臣 书堂 玉堂 占魁 清河 富贵"
    ).split(),
    Sex.FEMALE: (
        "秀英 桂兰 玉兰 凤英 淑珍 秀兰 玉珍 桂英 素芬 翠花 秀珍 玉梅 春兰 凤兰 桂芝 秀云 "
        "爱莲 荣花 兰英 金凤 巧云 月娥"
    ).split(),
}
MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "171 173 175 176 177 178 180 181 182 183 185 186 187 188 189 191 193 195 198 199"
).split()
# Where Puyang's migrant workers go (to city level), with rough weights.
WORK_PLACES = _table(
    ("郑州市", 22),
    ("北京市", 12),
    ("上海市", 9),
    ("广州市", 6),
    ("深圳市", 7),
    ("苏州市", 7),
    ("天津市", 6),
    ("杭州市", 5),
    ("东莞市", 4),
    ("宁波市", 3),
    ("南京市", 3),
    ("无锡市", 2),
    ("新乡市", 2),
    ("安阳市", 2),
    ("青岛市", 2),
    ("济南市", 2),
    ("西安市", 2),
    ("武汉市", 2),
    ("厦门市", 1),
    ("佛山市", 1),
)
# The parent at home of a 单亲留守 child: mostly divorced or unable to care.
SINGLE_OTHER_STATUS = _table(
    (ParentStatus.DIVORCED, 40),
    (ParentStatus.INCAPABLE, 30),
    (ParentStatus.DECEASED, 12),
    (ParentStatus.MISSING, 10),
    (ParentStatus.IMPRISONED, 8),
)
# Guardianship of every child except those whose at-home parent, unable as they are, guards.
GUARDIANSHIP = _table(
    (GuardianshipType.GRANDPARENT, 800),
    (GuardianshipType.RELATIVE, 125),
    (GuardianshipType.ENTRUSTED, 70),
    (GuardianshipType.NONE, 5),
)
ASSESSMENT = {
    GuardianshipType.GRANDPARENT: _table(
        (GuardianAssessment.GOOD, 55),
        (GuardianAssessment.FAIR, 44),
        (GuardianAssessment.ENTRUSTED_INSUFFICIENT, 1),
    ),
    GuardianshipType.RELATIVE: _table(
        (GuardianAssessment.GOOD, 50),
        (GuardianAssessment.FAIR, 49),
        (GuardianAssessment.ENTRUSTED_INSUFFICIENT, 1),
    ),
    GuardianshipType.ENTRUSTED: _table(
        (GuardianAssessment.GOOD, 45),
        (GuardianAssessment.FAIR, 42),
        (GuardianAssessment.ENTRUSTED_INSUFFICIENT, 13),
    ),
    GuardianshipType.ONE_PARENT: _table(
        (GuardianAssessment.PARENT_INCAPABLE, 40), (GuardianAssessment.FAIR, 60)
    ),
    GuardianshipType.NONE: _table((GuardianAssessment.NONE, 1)),
}
CHILD_HEALTH = _table(
    (HealthStatus.HEALTHY, 965),
    (HealthStatus.ILL, 5),
    (HealthStatus.DISABLED, 20),
    (HealthStatus.SERIOUSLY_ILL, 10),
)
WOMAN_HEALTH = _table(
    (HealthStatus.HEALTHY, 95),
    (HealthStatus.ILL, 3),
    (HealthStatus.DISABLED, 1),
    (HealthStatus.SERIOUSLY_ILL, 1),
)
ELDER_HEALTH = _table(
    (HealthStatus.HEALTHY, 66),
    (HealthStatus.ILL, 26),
    (HealthStatus.DISABLED, 5),
    (HealthStatus.SERIOUSLY_ILL, 3),
)
DISABILITY_TYPES = ("肢体残疾", "智力残疾", "视力残疾", "听力残疾", "言语残疾", "精神残疾", "多重残疾")
DISABILITY_GRADES = ("一级", "二级", "三级", "四级")
CHILD_ILLNESSES = ("白血病", "先天性心脏病", "肾病综合征", "癫痫", "地中海贫血", "脑瘫")
MINOR_ILLNESSES = ("哮喘", "过敏性鼻炎", "慢性胃炎")
ADULT_ILLNESSES = ("高血压", "糖尿病", "腰椎间盘突出", "慢性胃炎", "关节炎", "慢性支气管炎", "冠心病")
SERIOUS_ILLNESSES = ("恶性肿瘤", "尿毒症", "脑梗后遗症", "心力衰竭")
CHILD_NEEDS = ("学业辅导", "心理关爱", "生活照料", "安全教育", "亲情陪伴")
INCOME_SOURCES = _table(("务工收入", 70), ("务工收入、种植收入", 25), ("务工收入、养殖收入", 5))
ELDER_INCOME = _table(("养老金、子女赡养", 60), ("养老金、种植收入", 25), ("养老金", 10), ("养老金、低保", 5))
LIVING = _table(
    (LivingArrangement.WITH_SPOUSE, 45),
    (LivingArrangement.ALONE, 25),
    (LivingArrangement.WITH_GRANDCHILDREN, 22),
    (LivingArrangement.WITH_RELATIVES, 6),
    (LivingArrangement.CARE_FACILITY, 2),
)
# Share of guardians who signed an entrusted-guardianship agreement with the parents.
APPOINTED = {
    GuardianshipType.ENTRUSTED: 0.95,
    GuardianshipType.GRANDPARENT: 0.4,
    GuardianshipType.RELATIVE: 0.4,
}
IN_SCHOOL = {Schooling.PRIMARY, Schooling.JUNIOR, Schooling.SENIOR, Schooling.VOCATIONAL}
WOMAN_CHILDREN = _table((0, 3), (1, 30), (2, 45), (3, 17), (4, 5))
ELDER_CHILDREN = _table((1, 12), (2, 35), (3, 30), (4, 15), (5, 8))
PRIMARY_GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
JUNIOR_GRADES = ("七年级", "八年级", "九年级")


@dataclass(frozen=True)
class RegistryLoad:
    """What :func:`demo_registry_load` did: records created, or ``existing`` records found and kept.

    ``on`` is the reference date the ages were counted on.
    """

    on: datetime.date | None = None
    children: int = 0
    women: int = 0
    elders: int = 0
    high_risk: int = 0
    existing: int = 0


@dataclass(frozen=True)
class _Place:
    village: Region
    county: str
    township: str
    address: str  # 河南省濮阳市清丰县城关镇余楼村
    contact_name: str
    contact_phone: str


class _People:
    """The random choices behind one synthetic person after another, from one seeded generator."""

    def __init__(self, seed, on):
        self.rng = random.Random(seed)
        self.on = on  # the reference date ages are counted on
        self.seen = set()  # the 17-digit bodies of the ID numbers handed out

    def pick(self, table):
        values, cumulative = table
        return self.rng.choices(values, cum_weights=cumulative)[0]

    def chance(self, p):
        return self.rng.random() < p

    def sex(self, p_male=0.5):
        return Sex.MALE if self.chance(p_male) else Sex.FEMALE

    def surname(self):
        # Squaring skews towards the front of SURNAMES, where the common names stand.
        return SURNAMES[int(len(SURNAMES) * self.rng.random() ** 2)]

    def given(self, pool, two=0.7):
        return "".join(self.rng.choice(pool) for _ in range(2 if self.chance(two) else 1))

    def adult(self, sex, surname=None):
        return (surname or self.surname()) + self.given(ADULT_GIVEN[sex], two=0.5)

    def elder(self, sex, surname=None):
        return (surname or self.surname()) + self.rng.choice(ELDER_GIVEN[sex])

    def phone(self):
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def phone_or_blank(self, p_blank):
        return "" if self.chance(p_blank) else self.phone()

    def born_after(self, age):
        """The earliest birth of someone still under ``age`` BIRTHDAY_MARGIN after the reference date."""
        return _years_before(self.on + BIRTHDAY_MARGIN, age) + datetime.timedelta(days=1)

    def birth_date(self, oldest, youngest, mode=None):
        """A birth date between ``oldest`` and ``youngest`` (dates), optionally skewed to ``mode``."""
        span = (youngest - oldest).days
        if mode is None:
            return oldest + datetime.timedelta(days=self.rng.randint(0, span))
        peak = min(max((mode - oldest).days, 0), span)
        return oldest + datetime.timedelta(days=int(self.rng.triangular(0, span, peak)))

    def id_number(self, county_code, birth_date, sex):
        """A valid 18-character resident ID, unique among those this generator handed out."""
        while True:
            sequence = self.rng.randrange(500) * 2 + (sex == Sex.MALE)
            body = f"{county_code}{birth_date:%Y%m%d}{sequence:03d}"
            if body not in self.seen:
                self.seen.add(body)
                return body + ric.calc_check_digit(body + "0")

    def health(self, table, illnesses):
        health = self.pick(table)
        fields = {"health": health}
        if health == HealthStatus.DISABLED:
            fields["disability_type"] = self.rng.choice(DISABILITY_TYPES)
            fields["disability_grade"] = self.rng.choice(DISABILITY_GRADES)
        elif health == HealthStatus.ILL:
            fields["illness"] = self.rng.choice(illnesses)
        elif health == HealthStatus.SERIOUSLY_ILL:
            fields["illness"] = self.rng.choice(SERIOUS_ILLNESSES + illnesses)
        return fields


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _schooling(people, place, age):
    """Schooling, school, grade and boarding consistent with the age."""
    if age >= 12 and people.chance(0.005):
        return {"schooling": Schooling.DROPPED_OUT}
    township, county = place.township, place.county
    if age <= 2 or (age == 3 and people.chance(0.3)):
        return {"schooling": Schooling.NOT_ENROLLED}
    if age <= 5:
        school = (
            f"{place.village.name.removesuffix('村')}幼儿园"
            if people.chance(0.4)
            else f"{township}中心幼儿园"
        )
        return {"schooling": Schooling.KINDERGARTEN, "school_name": school}
    if age <= 11:
        school = (
            f"{place.village.name.removesuffix('村')}小学" if people.chance(0.5) else f"{township}中心小学"
        )
        return {
            "schooling": Schooling.PRIMARY,
            "school_name": school,
            "grade": PRIMARY_GRADES[age - 6],
            "boarding": people.chance(0.05),
        }
    if age <= 14:
        return {
            "schooling": Schooling.JUNIOR,
            "school_name": f"{township}初级中学",
            "grade": JUNIOR_GRADES[age - 12],
            "boarding": people.chance(0.5),
        }
    if people.chance(0.6):
        return {
            "schooling": Schooling.SENIOR,
            "school_name": f"{county}第一高级中学",
            "grade": "高一",
            "boarding": people.chance(0.8),
        }
    return {
        "schooling": Schooling.VOCATIONAL,
        "school_name": f"{county}职业教育中心",
        "grade": "一年级",
        "boarding": people.chance(0.7),
    }


def _guardian(people, kind, *, surname, father, mother, at_home):
    """Guardian name, relation and phone for guardianship ``kind``; ``at_home`` is "father"/"mother"."""
    if kind == GuardianshipType.NONE:
        return {}
    if kind == GuardianshipType.ONE_PARENT:
        name, relation = (
            (father, GuardianRelation.FATHER) if at_home == "father" else (mother, GuardianRelation.MOTHER)
        )
    elif kind == GuardianshipType.GRANDPARENT:
        grandfather = people.chance(0.4)
        if people.chance(0.75):
            relation, family = GuardianRelation.GRANDPARENT, surname
        else:
            relation, family = GuardianRelation.MATERNAL_GRANDPARENT, mother[0]
        name = people.elder(Sex.MALE, family) if grandfather else people.elder(Sex.FEMALE)
    elif kind == GuardianshipType.RELATIVE:
        if people.chance(0.1):
            relation, name = GuardianRelation.SIBLING, people.adult(people.sex(), surname)
        else:
            relation = GuardianRelation.RELATIVE
            name = people.adult(people.sex(), surname if people.chance(0.5) else None)
    else:
        relation = GuardianRelation.OTHER if people.chance(0.6) else GuardianRelation.RELATIVE
        name = people.adult(people.sex())
    return {
        "guardian_name": name,
        "guardian_relation": relation,
        "guardian_phone": people.phone_or_blank(0.03),
    }


def _child(people, place, *, red_flag=None):
    on = people.on
    sex = people.sex(0.53)
    birth = people.birth_date(people.born_after(16), on - datetime.timedelta(days=7))
    age = rules.age_on(birth, on)
    surname = people.surname()
    father, mother = people.adult(Sex.MALE, surname), people.adult(Sex.FEMALE)
    away = ParentStatus.AWAY_WORKING
    if people.chance(0.6):
        father_status = mother_status = away
        at_home, other = None, None
    else:
        other = people.pick(SINGLE_OTHER_STATUS)
        at_home = "mother" if people.chance(0.8) else "father"
        father_status, mother_status = (away, other) if at_home == "mother" else (other, away)

    if red_flag == "no_guardian":
        kind = GuardianshipType.NONE
    elif other == ParentStatus.INCAPABLE and people.chance(0.5):
        kind = GuardianshipType.ONE_PARENT
    else:
        kind = people.pick(GUARDIANSHIP)
    health = people.health(CHILD_HEALTH, MINOR_ILLNESSES)
    if red_flag == "seriously_ill":
        health = {"health": HealthStatus.SERIOUSLY_ILL, "illness": people.rng.choice(CHILD_ILLNESSES)}
    elif health["health"] == HealthStatus.SERIOUSLY_ILL:
        health["illness"] = people.rng.choice(CHILD_ILLNESSES)
    schooling = _schooling(people, place, age)

    def parent(status, name):
        if status in (ParentStatus.DECEASED, ParentStatus.MISSING):
            phone = ""
        else:  # a divorced or imprisoned parent's phone is mostly unknown
            phone = people.phone_or_blank(0.01 if status in (away, ParentStatus.INCAPABLE) else 0.7)
        return {
            "name": name,
            "work_place": people.pick(WORK_PLACES) if status == away else "",
            "phone": phone,
        }

    dad, mum = parent(father_status, father), parent(mother_status, mother)
    if father_status == mother_status == away and people.chance(0.7):
        mum["work_place"] = dad["work_place"]  # most couples work in the same city

    assistance = []
    if people.chance(0.12):
        assistance.append(Assistance.SUBSISTENCE)
    if schooling["schooling"] in IN_SCHOOL and people.chance(0.1):
        assistance.append(Assistance.EDUCATION)
    if health["health"] == HealthStatus.DISABLED and people.chance(0.8):
        assistance.append(Assistance.DISABILITY)
    if health["health"] == HealthStatus.SERIOUSLY_ILL and people.chance(0.7):
        assistance.append(Assistance.MEDICAL)
    if people.chance(0.02):
        assistance.append(Assistance.TEMPORARY)

    county_code = place.village.code[:6]
    return Child(
        village=place.village,
        name=surname + people.given(CHILD_GIVEN[sex]),
        sex=sex,
        ethnicity="回族" if people.chance(0.01) else "汉族",
        birth_date=birth,
        id_number=people.id_number(county_code, birth, sex),
        hukou_address=place.address,
        current_address=place.address,
        needs=people.rng.choice(CHILD_NEEDS) if people.chance(0.15) else "",
        **health,
        **schooling,
        father_name=dad["name"],
        father_status=father_status,
        father_work_place=dad["work_place"],
        father_phone=dad["phone"],
        mother_name=mum["name"],
        mother_status=mother_status,
        mother_work_place=mum["work_place"],
        mother_phone=mum["phone"],
        guardianship_type=kind,
        guardian_assessment=people.pick(ASSESSMENT[kind]),
        **_guardian(people, kind, surname=surname, father=father, mother=mother, at_home=at_home),
        entrusted_guardian_appointed=people.chance(APPOINTED.get(kind, 0)),
        income_sources=people.pick(INCOME_SOURCES),
        assistance=[str(code) for code in assistance],
        contact_person=place.contact_name,
        contact_phone=place.contact_phone,
        created_by=None,
    )


def _woman(people, place):
    on = people.on
    birth = people.birth_date(people.born_after(60), _years_before(on, 20), mode=_years_before(on, 36))
    age = rules.age_on(birth, on)
    children = people.pick(WOMAN_CHILDREN)
    if age < 38:
        minors = children
    elif age < 48:
        minors = people.rng.randint(0, children)
    else:
        minors = 0
    return Woman(
        village=place.village,
        name=people.adult(Sex.FEMALE),
        sex=Sex.FEMALE,
        birth_date=birth,
        id_number=people.id_number(place.village.code[:6], birth, Sex.FEMALE),
        hukou_address=place.address,
        current_address=place.address,
        phone=people.phone_or_blank(0.03),
        **people.health(WOMAN_HEALTH, ADULT_ILLNESSES),
        husband_name=people.adult(Sex.MALE),
        husband_work_place=people.pick(WORK_PLACES),
        husband_months_away=int(people.rng.triangular(6, 121, 24)),
        husband_phone=people.phone_or_blank(0.02),
        children_count=children,
        minor_children_count=minors,
        created_by=None,
    )


def _elder(people, place):
    on = people.on
    sex = people.sex(0.45)
    birth = people.birth_date(_years_before(on, 93), _years_before(on, 60), mode=_years_before(on, 68))
    living = people.pick(LIVING)
    children = people.pick(ELDER_CHILDREN)
    caregiver = {}
    if living != LivingArrangement.CARE_FACILITY and people.chance(0.6):
        caregiver = {"caregiver_name": people.adult(people.sex()), "caregiver_phone": people.phone()}
    return Elder(
        village=place.village,
        name=people.elder(sex),
        sex=sex,
        birth_date=birth,
        id_number=people.id_number(place.village.code[:6], birth, sex),
        hukou_address=place.address,
        current_address=place.address,
        phone=people.phone_or_blank(0.25),
        **people.health(ELDER_HEALTH, ADULT_ILLNESSES),
        living_arrangement=living,
        children_count=children,
        children_away_count=children,
        min_months_away=int(people.rng.triangular(6, 241, 36)),
        income_sources=people.pick(ELDER_INCOME),
        **caregiver,
        created_by=None,
    )


def _apportion(total, weights):
    """``total`` split in proportion to ``weights`` by largest remainder (ties: first first)."""
    scale = total / sum(weights)
    quotas = [weight * scale for weight in weights]
    counts = [int(quota) for quota in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _raise_to(counts, indexes, minimum):
    """Give the villages at ``indexes`` at least ``minimum``, taken one by one from the largest."""
    for i in indexes:
        while counts[i] < minimum:
            donor = max(range(len(counts)), key=lambda j: (counts[j], -j))
            counts[donor] -= 1
            counts[i] += 1


def _places(city, people):
    """Every demo village of ``city`` in code order, with its county, township and contact person."""
    names = {r.code: r.name for r in Region.objects.in_region(city).exclude(level=RegionLevel.VILLAGE)}
    above = "".join(region.name for region in city.ancestors()) + city.name
    places = []
    for village in Region.objects.in_region(city).at_level(RegionLevel.VILLAGE).order_by("code"):
        county, township = names[full_code(village.code[:6])], names[full_code(village.code[:9])]
        places.append(
            _Place(
                village=village,
                county=county,
                township=township,
                address=f"{above}{county}{township}{village.name}",
                contact_name=people.adult(people.sex(0.7)),
                contact_phone=people.phone(),
            )
        )
    return places


def demo_registry_generate(*, city, home_villages=(), on):
    """The synthetic registry of ``city`` as unsaved (children, women, elders), not yet derived.

    Ages are counted on ``on``, the reference date. Deterministic for a given region tree and
    date. Each of ``home_villages`` (the demo cadres' villages) gets at least
    HOME_VILLAGE_MIN_CHILDREN children, the first of them high-risk, so every demo home page
    shows data.
    """
    people = _People(REGISTRY_SEED, on)
    places = _places(city, people)
    # Urban communities (社区) hold far fewer left-behind people than villages, and about a
    # third of them none at all: those submit the demo's zero returns (零报告).
    weights = []
    for place in places:
        weight = people.rng.uniform(0.4, 1.6)
        if place.village.name.endswith("社区"):
            weight *= 0 if people.rng.random() < 0.35 else 0.3
        weights.append(weight)
    children = _apportion(DEMO_CHILDREN, weights)
    women = _apportion(DEMO_WOMEN, [w * people.rng.uniform(0.5, 1.5) for w in weights])
    elders = _apportion(DEMO_ELDERS, [w * people.rng.uniform(0.5, 1.5) for w in weights])
    home_pks = {village.pk for village in home_villages}
    homes = [i for i, p in enumerate(places) if p.village.pk in home_pks]
    _raise_to(children, homes, HOME_VILLAGE_MIN_CHILDREN)
    red_flags = dict(zip(homes, ("no_guardian", "seriously_ill"), strict=False))

    records = ([], [], [])
    for i, place in enumerate(places):
        for n in range(children[i]):
            records[0].append(_child(people, place, red_flag=red_flags.get(i) if n == 0 else None))
        records[1].extend(_woman(people, place) for _ in range(women[i]))
        records[2].extend(_elder(people, place) for _ in range(elders[i]))
    return records


def demo_registry_load(*, city, home_villages=()):
    """Load the synthetic registry of ``city`` unless the city already holds records.

    Never duplicates and never deletes: a city with any registered person (a demo loaded
    earlier, on whatever day, or real entries) is left as it is.

    Side effects: bulk-creates the children, women and elders, their IdentityClaim rows and
    each record's first history entry (source 命令/演示数据, no user).
    """
    existing = IdentityClaim.objects.filter(village__in=Region.objects.in_region(city)).count()
    if existing:
        return RegistryLoad(existing=existing)
    on = reference_date()
    children, women, elders = demo_registry_generate(city=city, home_villages=home_villages, on=on)
    for record in (*children, *women, *elders):
        derive(record, on=on)
    with transaction.atomic():
        for model, objs in ((Child, children), (Woman, women), (Elder, elders)):
            bulk_create_with_history(
                objs, model, batch_size=BATCH_SIZE, default_change_reason=HistorySource.COMMAND.value
            )
            IdentityClaim.objects.bulk_create(
                [IdentityClaim(id_number=r.id_number, category=r.category, village=r.village) for r in objs],
                batch_size=BATCH_SIZE,
            )
    return RegistryLoad(
        on=on,
        children=len(children),
        women=len(women),
        elders=len(elders),
        high_risk=sum(child.is_high_risk for child in children),
    )
