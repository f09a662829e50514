"""Synthetic demo villages for the real counties and townships of a city (marked demo in README).

Deterministic: each township's villages come from a random generator seeded with its code, so
loading twice gives the same data.
"""

import random

from registry.models import Region, RegionLevel
from registry.services import villages_load

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
