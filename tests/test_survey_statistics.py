"""The statistics of children, women and elders and the 统计表 xlsx: parts add up to totals at every level."""

from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registry import records, statistics
from registry.choices import GuardianshipType, HealthStatus, LivingArrangement, ParentStatus, Schooling, Sex
from registry.models import Child, Elder, VillageStatistics, Woman
from registry.statistics import _compute, village_statistics_rebuild
from survey.export import check, statistics_rows
from survey.statistics import COLUMNS, ELDERS, WOMEN, children_statistics, people_statistics
from tests.factories import ElderFactory, WomanFactory, make_child

REF = date(2022, 7, 31)


@pytest.fixture
def children(tree, campaign):
    """Five children in county 1 (two townships) and one in county 2, with varied attributes."""
    return [
        make_child(
            tree["410922100201"],
            birth_date=date(2019, 1, 1),
            sex=Sex.FEMALE,
            schooling=Schooling.NOT_ENROLLED,
        ),
        make_child(tree["410922100201"], birth_date=date(2012, 5, 5), health=HealthStatus.DISABLED),
        make_child(
            tree["410922100202"],
            birth_date=date(2007, 9, 1),
            schooling=Schooling.DROPPED_OUT,
            guardianship_type=GuardianshipType.NONE,
            assistance=["subsistence"],
        ),
        make_child(
            tree["410922101201"],
            birth_date=date(2010, 3, 3),
            sex=Sex.FEMALE,
            mother_status=ParentStatus.DIVORCED,
            guardianship_type=GuardianshipType.RELATIVE,
        ),
        make_child(
            tree["410922101202"], birth_date=date(2016, 2, 29), guardianship_type=GuardianshipType.ENTRUSTED
        ),
        make_child(tree["410923100201"], birth_date=date(2014, 6, 1)),
    ]


def test_statistics_per_county(tree, children):
    city = tree["4109"]
    counties = [tree["410922"], tree["410923"]]
    stats = children_statistics(city, counties, REF)
    county1 = stats[counties[0].pk]
    assert (county1["total"], county1["male"], county1["female"]) == (5, 3, 2)
    assert (county1["band_0_5"], county1["band_6_13"], county1["band_14_15"]) == (1, 3, 1)
    assert (county1["both"], county1["single"]) == (4, 1)
    assert (county1["g_grandparent"], county1["g_relative"], county1["g_entrusted"], county1["g_none"]) == (
        2,
        1,
        1,
        1,
    )
    assert (county1["in_school"], county1["not_in_school"], county1["dropped_out"]) == (3, 1, 1)
    assert (county1["disabled"], county1["assisted"], county1["high_risk"]) == (1, 1, 2)
    assert stats[None]["total"] == 6
    for key, _ in COLUMNS:
        assert stats[None][key] == sum(stats[c.pk][key] for c in counties)


def test_the_table_checks_out(tree, children):
    city = tree["4109"]
    counties = [tree["410922"], tree["410923"]]
    townships = [tree[p] for p in ("410922100", "410922101", "410923100", "410923101")]
    rows = statistics_rows(
        city,
        counties,
        townships,
        children_statistics(city, counties, REF),
        children_statistics(city, townships, REF),
    )
    assert [label.strip() for label, _, _ in rows] == [
        "合计",
        "县1",
        "县1镇1",
        "县1镇2",
        "县2",
        "县2镇1",
        "县2镇2",
    ]
    assert check(rows) == []


def test_export_is_an_xlsx_whose_totals_add_up(client, cast, tree, campaign, children):
    client.force_login(cast["city"])
    response = client.get(reverse("survey_statistics", args=[campaign.pk, "410900000000"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(BytesIO(response.content)).active
    assert ws["A1"].value == "濮阳市农村留守儿童统计表"
    assert (ws["A3"].value, ws["B3"].value, ws["C3"].value, ws["C4"].value, ws["D4"].value) == (
        "区划",
        "留守儿童总数",
        "性别",
        "男",
        "女",
    )
    labels = [ws.cell(r, 1).value for r in range(5, 12)]
    assert [label.strip() for label in labels] == [
        "合计",
        "县1",
        "县1镇1",
        "县1镇2",
        "县2",
        "县2镇1",
        "县2镇2",
    ]
    total = [ws.cell(5, c).value for c in range(2, 2 + len(COLUMNS))]
    counties = [[ws.cell(r, c).value for c in range(2, 2 + len(COLUMNS))] for r in (6, 9)]
    assert total == [a + b for a, b in zip(*counties, strict=True)]
    assert total[:3] == [6, 4, 2]
    signature = [ws.cell(13, c).value for c in (1, 5, 9)]
    assert signature == ["单位负责人：", "填表人：", "复核人："]


def test_export_refuses_a_table_that_does_not_add_up(client, cast, tree, campaign, children):
    # A child aged 16 on the reference date left active: no age band holds them.
    Child.objects.filter(pk=children[-1].pk).update(birth_date=date(2005, 1, 1))
    village_statistics_rebuild(tree["4109"], REF)  # a write past the services: rebuild, as after a bulk load
    client.force_login(cast["county"])
    response = client.get(reverse("survey_statistics", args=[campaign.pk, "410923000000"]))
    assert response.status_code == 404  # another county
    client.force_login(cast["city"])
    response = client.get(reverse("survey_statistics", args=[campaign.pk, "410900000000"]))
    assert response.status_code == 409
    assert response.context["problems"] == [
        "合计：年龄段合计 5 与总数 6 不符",
        "县2：年龄段合计 0 与总数 1 不符",
        "县2镇1：年龄段合计 0 与总数 1 不符",
    ]


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [
        ("county", "410922000000", 200),
        ("township", "410922100000", 404),
        ("cadre_a", "410922100201", 404),
        ("sysadmin", "410900000000", 404),
    ],
)
def test_export_scope(client, cast, campaign, children, who, code, status):
    client.force_login(cast[who])
    assert client.get(reverse("survey_statistics", args=[campaign.pk, code])).status_code == status


def _live(region, on):
    return {code: counts for code, counts in _compute(Child.objects.in_region(region), on).items()}


def _kept(region):
    return {
        s.village_code: s.counts for s in VillageStatistics.objects.in_region(region) if s.counts["total"]
    }


def test_village_statistics_follow_every_write_through_the_services(cast, tree, children):
    city = tree["4109"]
    assert _kept(city) == _live(city, REF)
    moved = records.record_update(
        record=children[0],
        user=cast["county"],
        data={"village": tree["410922100202"]},
        version=children[0].version,
    )
    records.record_exit(
        record=children[1], user=cast["county"], reason="moved_out", date=date(2022, 9, 1), note="", version=1
    )
    assert moved.village_code == "410922100202"
    assert _kept(city) == _live(city, REF)
    assert "410922100201" not in _kept(city)  # both of its children left: nothing kept there
    emptied = VillageStatistics.objects.get(village_code="410922100201")
    assert emptied.counts == {key: 0 for key, _ in statistics.COLUMNS + statistics.QUALITY}
    assert emptied.on == REF


def test_statistics_on_another_reference_date_are_read_from_the_register(tree, children):
    city, counties = tree["4109"], [tree["410922"], tree["410923"]]
    other = date(2023, 7, 31)
    stats = children_statistics(city, counties, other)
    live = _live(city, other)
    assert stats[None]["band_0_5"] == sum(row["band_0_5"] for row in live.values())
    assert stats[None]["total"] == 6


# --- women and elders ----------------------------------------------------------------------


@pytest.fixture
def people(tree, campaign):
    """Four women and three elders in county 1 (two townships), one of each in county 2."""
    return {
        "women": [
            WomanFactory(village=tree["410922100201"], birth_date=date(1995, 1, 1), husband_months_away=6),
            WomanFactory(
                village=tree["410922100202"],
                birth_date=date(1990, 8, 1),
                health=HealthStatus.ILL,
                minor_children_count=0,
            ),
            WomanFactory(village=tree["410922101201"], birth_date=date(1975, 7, 31), husband_months_away=30),
            WomanFactory(
                village=tree["410922101201"], birth_date=date(1970, 1, 1), health=HealthStatus.DISABLED
            ),
            WomanFactory(village=tree["410923100201"], birth_date=date(1980, 1, 1)),
        ],
        "elders": [
            ElderFactory(village=tree["410922100201"], birth_date=date(1958, 1, 1)),
            ElderFactory(
                village=tree["410922100201"],
                birth_date=date(1950, 3, 3),
                sex=Sex.FEMALE,
                living_arrangement=LivingArrangement.WITH_GRANDCHILDREN,
                health=HealthStatus.SERIOUSLY_ILL,
            ),
            ElderFactory(
                village=tree["410922101202"],
                birth_date=date(1940, 2, 29),
                sex=Sex.FEMALE,
                living_arrangement=LivingArrangement.WITH_SPOUSE,
            ),
            ElderFactory(village=tree["410923101202"], birth_date=date(1942, 8, 1)),
        ],
    }


def _row(table, stats):
    return [stats[key] for key, _ in table.headings]


def test_women_statistics_per_county(tree, people):
    city, counties = tree["4109"], [tree["410922"], tree["410923"]]
    stats = people_statistics(WOMEN, city, counties, REF)
    assert [heading for _, heading in WOMEN.headings] == [
        "总数",
        "不满30岁",
        "30–39岁",
        "40–49岁",
        "50岁及以上",
        "健康",
        "残疾",
        "患病",
        "重病",
        "丈夫外出不满1年",
        "丈夫外出1年及以上",
        "有未成年子女",
    ]
    assert _row(WOMEN, stats[counties[0].pk]) == [4, 1, 1, 1, 1, 2, 1, 1, 0, 1, 3, 3]
    assert _row(WOMEN, stats[counties[1].pk]) == [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1]
    assert _row(WOMEN, stats[None]) == [5, 1, 1, 2, 1, 3, 1, 1, 0, 1, 4, 4]


def test_elders_statistics_per_county(tree, people):
    city, counties = tree["4109"], [tree["410922"], tree["410923"]]
    stats = people_statistics(ELDERS, city, counties, REF)
    assert [heading for _, heading in ELDERS.headings] == [
        "总数",
        "男",
        "女",
        "不满70岁",
        "70–79岁",
        "80岁及以上",
        "健康",
        "残疾",
        "患病",
        "重病",
        "独居",
        "与配偶同住",
        "与孙辈同住",
        "与其他亲属同住",
        "入住养老机构",
    ]
    assert _row(ELDERS, stats[counties[0].pk]) == [3, 1, 2, 1, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0]
    assert _row(ELDERS, stats[counties[1].pk]) == [1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    assert _row(ELDERS, stats[None]) == [4, 2, 2, 1, 2, 1, 3, 0, 0, 1, 2, 1, 1, 0, 0]


def test_people_statistics_only_count_active_records_in_the_region(cast, tree, people):
    records.record_exit(
        record=people["women"][0], user=cast["county"], reason="moved_out", date=REF, note="", version=1
    )
    townships = [tree["410922100"], tree["410922101"]]
    stats = people_statistics(WOMEN, tree["410922"], townships, REF)
    assert (stats[None]["total"], stats[townships[0].pk]["total"], stats[townships[1].pk]["total"]) == (
        3,
        1,
        2,
    )


def test_progress_page_shows_the_women_and_elders_tables(client, cast, tree, campaign, people):
    client.force_login(cast["county"])
    response = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922000000"]))
    tables = response.context["people_tables"]
    assert [(table.title, rows, problems) for table, rows, problems in tables] == [
        (
            "留守妇女分类统计",
            [
                ("县1（合计）", [4, 1, 1, 1, 1, 2, 1, 1, 0, 1, 3, 3]),
                ("县1镇1", [2, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1]),
                ("县1镇2", [2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 2, 2]),
            ],
            [],
        ),
        (
            "留守老人分类统计",
            [
                ("县1（合计）", [3, 1, 2, 1, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0]),
                ("县1镇1", [2, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0]),
                ("县1镇2", [1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0]),
            ],
            [],
        ),
    ]
    body = response.content.decode()
    assert '<h2 class="h5 mt-4">留守妇女分类统计</h2>' in body
    assert '<table class="table table-sm table-bordered bg-white small" id="statistics-elder">' in body


def test_progress_page_lists_a_women_table_that_does_not_add_up(client, cast, tree, campaign, people):
    Woman.objects.filter(pk=people["women"][1].pk).update(health="")  # written past the form
    client.force_login(cast["county"])
    response = client.get(reverse("survey_progress_region", args=[campaign.pk, "410922000000"]))
    (_, _, problems), (_, _, elder_problems) = response.context["people_tables"]
    assert (problems, elder_problems) == (
        ["县1（合计）：健康状况合计 3 与总数 4 不符", "县1镇1：健康状况合计 1 与总数 2 不符"],
        [],
    )


def test_export_has_women_and_elders_sheets_that_add_up(client, cast, tree, campaign, children, people):
    client.force_login(cast["city"])
    response = client.get(reverse("survey_statistics", args=[campaign.pk, "410900000000"]))
    assert response.status_code == 200
    wb = load_workbook(BytesIO(response.content))
    assert wb.sheetnames == ["留守儿童统计表", "留守妇女统计表", "留守老人统计表"]
    for table, sheet in ((WOMEN, wb["留守妇女统计表"]), (ELDERS, wb["留守老人统计表"])):
        width = len(table.headings)
        assert sheet["A1"].value == f"濮阳市农村{table.sheet}"
        rows = [[sheet.cell(r, c).value for c in range(1, 2 + width)] for r in range(5, 12)]
        assert [row[0].strip() for row in rows] == [
            "合计",
            "县1",
            "县1镇1",
            "县1镇2",
            "县2",
            "县2镇1",
            "县2镇2",
        ]
        total, county1, county2 = rows[0][1:], rows[1][1:], rows[4][1:]
        assert total == [a + b for a, b in zip(county1, county2, strict=True)]
        assert county1 == [a + b for a, b in zip(rows[2][1:], rows[3][1:], strict=True)]
    women = wb["留守妇女统计表"]
    assert (
        women["B3"].value,
        women["C3"].value,
        women["C4"].value,
        women["G3"].value,
        women["G4"].value,
    ) == (
        "总数",
        "年龄段",
        "不满30岁",
        "健康状况",
        "健康",
    )
    assert [women.cell(5, c).value for c in range(2, 14)] == [5, 1, 1, 2, 1, 3, 1, 1, 0, 1, 4, 4]
    assert [wb["留守老人统计表"].cell(5, c).value for c in range(2, 17)] == [
        4, 2, 2, 1, 2, 1, 3, 0, 0, 1, 2, 1, 1, 0, 0
    ]  # fmt: skip


def test_export_refuses_an_elders_table_that_does_not_add_up(client, cast, tree, campaign, children, people):
    Elder.objects.filter(pk=people["elders"][3].pk).update(living_arrangement="")
    client.force_login(cast["city"])
    response = client.get(reverse("survey_statistics", args=[campaign.pk, "410900000000"]))
    assert response.status_code == 409
    assert response.context["problems"] == [
        "合计：居住情况合计 3 与总数 4 不符",
        "县2：居住情况合计 0 与总数 1 不符",
        "县2镇2：居住情况合计 0 与总数 1 不符",
    ]
