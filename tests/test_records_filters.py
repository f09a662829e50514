"""Search and filters of the record lists: they narrow the user's scope, never widen it."""

import re
from datetime import date, timedelta

import pytest
from django.core.paginator import Paginator
from django.urls import reverse

from registry import records
from registry.choices import ExitReason, GuardianAssessment, GuardianshipType
from registry.pagination import page_window
from registry.rules import age_on, birth_date_range
from tests.factories import ChildFactory, ElderFactory, WomanFactory, make_id_number, years_ago

A, B, C = "410922100201", "410922100202", "410923100201"
OTHER_TOWNSHIP = "410922101201"
INVALID_CHOICE = "选择一个有效的选项： 该选择不在可用的选项中。"


def _list(client, params=None, slug="children"):
    response = client.get(reverse("record_list", kwargs={"kind": slug}), params or {})
    assert response.status_code == 200
    return response


def _names(response):
    """Names on the page, in page order."""
    return [record.name for record in response.context["page"].object_list]


def _found(response):
    """Names on the page, sorted (list order by Chinese name depends on the database's collation)."""
    return sorted(_names(response))


def _full_width(text):
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["children", "women", "elders"])
def test_record_search_by_name_prefix(client, cast, tree, slug):
    factory = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}[slug]
    for name in ("张三", "张四", "李张", "王五"):
        factory(village=tree[A], name=name)
    client.force_login(cast["cadre_a"])
    assert _found(_list(client, {"q": "张"}, slug)) == sorted(["张三", "张四"])
    assert _names(_list(client, {"q": " 张三 "}, slug)) == ["张三"]


def test_record_search_by_id_prefix_normalised(client, cast, tree):
    first = ChildFactory(village=tree[A], name="甲", birth_date=date(2015, 3, 5))
    ChildFactory(village=tree[A], name="乙", birth_date=date(2015, 3, 6))
    ChildFactory(village=tree[A], name="丙", birth_date=date(2016, 3, 5))
    client.force_login(cast["cadre_a"])
    assert _names(_list(client, {"q": _full_width("41092220150305")})) == ["甲"]
    assert _found(_list(client, {"q": "4109222015 03"})) == sorted(["甲", "乙"])
    assert _names(_list(client, {"q": first.id_number.lower()})) == ["甲"]
    assert _found(_list(client, {"q": "410922"})) == sorted(["甲", "乙", "丙"])


def test_record_search_by_guardian_name(client, cast, tree):
    ChildFactory(village=tree[A], name="刘一", guardian_name="王奶奶")
    ChildFactory(village=tree[A], name="刘二", guardian_name="李爷爷")
    ChildFactory(village=tree[A], name="王小", guardian_name="赵姑姑")
    client.force_login(cast["cadre_a"])
    assert _found(_list(client, {"q": "王"})) == sorted(["刘一", "王小"])
    assert _names(_list(client, {"q": "王奶"})) == ["刘一"]


def test_record_search_never_reaches_outside_the_scope(client, cast, tree):
    ours = ChildFactory(village=tree[A], name="张甲")
    theirs = ChildFactory(village=tree[C], name="张乙")
    client.force_login(cast["cadre_a"])
    assert _names(_list(client, {"q": "张"})) == ["张甲"]
    assert _names(_list(client, {"q": theirs.id_number})) == []
    assert _names(_list(client, {"q": ours.id_number})) == ["张甲"]


# --- township and village ------------------------------------------------------------------


def test_record_filter_by_township_and_village(client, cast, tree):
    for code, name in ((A, "甲"), (B, "乙"), (OTHER_TOWNSHIP, "丙"), (C, "丁")):
        ChildFactory(village=tree[code], name=name)
    client.force_login(cast["county"])
    assert _found(_list(client, {"township": tree["410922100"].pk})) == sorted(["甲", "乙"])
    assert _names(_list(client, {"township": tree["410922101"].pk})) == ["丙"]
    assert _names(_list(client, {"village": tree[B].pk})) == ["乙"]
    assert _names(_list(client, {"township": tree["410922100"].pk, "village": tree[A].pk})) == ["甲"]


@pytest.mark.parametrize(
    ("who", "field", "code"),
    [
        ("cadre_a", "township", "410922101"),
        ("cadre_a", "village", B),
        ("township", "township", "410922101"),
        ("township", "village", OTHER_TOWNSHIP),
        ("county", "township", "410923100"),
        ("county", "village", C),
        ("supervisor", "village", A),
    ],
)
def test_record_filter_outside_the_scope_is_refused(client, cast, tree, who, field, code):
    for village in (A, B, OTHER_TOWNSHIP, C):
        ChildFactory(village=tree[village])
    client.force_login(cast[who])
    response = _list(client, {field: tree[code].pk})
    assert response.context["filters"].errors == {field: [INVALID_CHOICE]}
    assert _names(response) == []
    assert response.context["page"].paginator.count == 0


def test_record_filter_offers_only_regions_in_scope(client, cast, tree):
    client.force_login(cast["township"])
    filters = _list(client).context["filters"]
    assert list(filters.fields["township"].queryset) == [tree["410922100"]]
    assert list(filters.fields["village"].queryset) == [tree[A], tree[B]]


# --- age band, guardianship, risk, status --------------------------------------------------


def test_record_filter_by_age_band_on_the_reference_date(client, cast, tree):
    births = {
        "五岁": years_ago(5),
        "差一天六岁": years_ago(6, days=-1),
        "六岁": years_ago(6),
        "十三岁": years_ago(13, days=200),
        "十四岁": years_ago(14),
        "十五岁": years_ago(15, days=300),
    }
    for name, birth in births.items():
        ChildFactory(village=tree[A], name=name, birth_date=birth)
    client.force_login(cast["cadre_a"])
    assert _found(_list(client, {"age_band": "0_5"})) == sorted(["五岁", "差一天六岁"])
    assert _found(_list(client, {"age_band": "6_13"})) == sorted(["六岁", "十三岁"])
    assert _found(_list(client, {"age_band": "14_15"})) == sorted(["十四岁", "十五岁"])


@pytest.mark.parametrize("on", [date(2024, 2, 29), date(2026, 3, 1), date(2026, 2, 28), date(2025, 12, 31)])
@pytest.mark.parametrize(("low", "high"), [(0, 5), (6, 13), (14, 15)])
def test_birth_date_range_matches_age_on(on, low, high):
    after, until = birth_date_range(low, high, on)
    wrong = []
    day = date(on.year - 17, 1, 1)
    while day <= on:
        if (after < day <= until) != (low <= age_on(day, on) <= high):
            wrong.append(day)
        day += timedelta(days=1)
    assert wrong == []


def test_record_filter_by_guardianship(client, cast, tree):
    ChildFactory(village=tree[A], name="甲", guardianship_type=GuardianshipType.GRANDPARENT)
    ChildFactory(village=tree[A], name="乙", guardianship_type=GuardianshipType.RELATIVE)
    ChildFactory(village=tree[A], name="丙", guardianship_type=GuardianshipType.RELATIVE)
    client.force_login(cast["cadre_a"])
    assert _found(_list(client, {"guardianship": "relative"})) == sorted(["乙", "丙"])
    assert _names(_list(client, {"guardianship": "grandparent"})) == ["甲"]
    assert _names(_list(client, {"guardianship": "entrusted"})) == []


def test_record_filter_by_guardian_assessment_finds_children_awaiting_it(client, cast, tree):
    ChildFactory(village=tree[A], name="甲", guardian_assessment=GuardianAssessment.PENDING)
    ChildFactory(village=tree[A], name="乙", guardian_assessment=GuardianAssessment.GOOD)
    client.force_login(cast["cadre_a"])
    page = _list(client, {"assessment": "pending"})
    assert _names(page) == ["甲"]
    assert '<option value="pending" selected>待评估</option>' in page.content.decode()
    assert _found(_list(client, {"assessment": ""})) == sorted(["甲", "乙"])
    assert "assessment" not in _list(client, slug="women").context["filters"].fields


def test_record_filter_high_risk_only(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    ChildFactory(
        village=tree[A],
        name="乙",
        guardianship_type=GuardianshipType.NONE,
        guardian_assessment=GuardianAssessment.NONE,
    )
    ChildFactory(village=tree[A], name="丙", schooling="dropped_out")
    client.force_login(cast["cadre_a"])
    assert _found(_list(client, {"risk": "high"})) == sorted(["乙", "丙"])
    assert _found(_list(client, {"risk": ""})) == sorted(["甲", "乙", "丙"])


def test_record_filter_by_status(client, cast, tree):
    ChildFactory(village=tree[A], name="在册")
    gone = ChildFactory(village=tree[A], name="退出")
    records.record_exit(
        record=gone, user=None, reason=ExitReason.MOVED_OUT, date=years_ago(0), note="", version=1
    )
    client.force_login(cast["cadre_a"])
    assert _names(_list(client)) == ["在册"]
    assert _names(_list(client, {"status": ""})) == ["在册"]
    assert _names(_list(client, {"status": "exited"})) == ["退出"]
    assert _found(_list(client, {"status": "all"})) == sorted(["在册", "退出"])


def test_record_filter_with_an_unknown_value_shows_nothing(client, cast, tree):
    ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    response = _list(client, {"status": "deleted"})
    assert list(response.context["filters"].errors) == ["status"]
    assert _names(response) == []


# --- pagination ----------------------------------------------------------------------------


def test_record_pagination_keeps_the_filters(client, cast, tree):
    for i in range(23):
        ChildFactory(village=tree[A], name=f"张{i:02d}", schooling="dropped_out")
    ChildFactory(village=tree[A], name="张安", schooling="primary")
    ChildFactory(village=tree[A], name="李危", schooling="dropped_out")
    client.force_login(cast["cadre_a"])
    first = _list(client, {"q": "张", "risk": "high"})
    assert first.context["page"].paginator.count == 23
    assert _names(first) == [f"张{i:02d}" for i in range(20)]
    body = first.content.decode()
    assert '<a class="page-link" href="?q=%E5%BC%A0&amp;risk=high&page=2">下一页</a>' in body
    second = _list(client, {"q": "张", "risk": "high", "page": "2"})
    assert _names(second) == ["张20", "张21", "张22"]
    assert second.context["query"] == "q=%E5%BC%A0&risk=high"
    assert (
        '<a class="page-link" href="?q=%E5%BC%A0&amp;risk=high&page=1">上一页</a>' in second.content.decode()
    )


def test_record_search_by_id_of_another_kind_finds_nothing(client, cast, tree):
    woman = WomanFactory(village=tree[A])
    ChildFactory(village=tree[A], id_number=make_id_number("410922", years_ago(9)))
    client.force_login(cast["cadre_a"])
    assert _names(_list(client, {"q": woman.id_number})) == []
    assert _names(_list(client, {"q": woman.id_number}, "women")) == [woman.name]


# --- county, and "县 · 乡镇" ----------------------------------------------------------------


def _choices(response, field):
    return [(str(value), label) for value, label in response.context["filters"].fields[field].widget.choices]


def test_record_filter_by_county_for_a_city_user(client, cast, tree):
    for code, name in ((A, "甲"), (OTHER_TOWNSHIP, "丙"), (C, "丁")):
        ChildFactory(village=tree[code], name=name)
    client.force_login(cast["city"])
    assert _found(_list(client, {"county": tree["410922"].pk})) == sorted(["甲", "丙"])
    assert _names(_list(client, {"county": tree["410923"].pk})) == ["丁"]


def test_record_filter_township_list_names_the_county_and_narrows_to_the_chosen_one(client, cast, tree):
    client.force_login(cast["city"])
    unchosen = _list(client)
    assert _choices(unchosen, "county") == [
        ("", "全部县（区）"),
        (str(tree["410922"].pk), "县1"),
        (str(tree["410923"].pk), "县2"),
    ]
    assert _choices(unchosen, "township") == [("", "全部乡镇（街道）")] + [
        (str(tree[code].pk), label)
        for code, label in (
            ("410922100", "县1 · 县1镇1"),
            ("410922101", "县1 · 县1镇2"),
            ("410923100", "县2 · 县2镇1"),
            ("410923101", "县2 · 县2镇2"),
        )
    ]
    chosen = _list(client, {"county": tree["410923"].pk})
    assert _choices(chosen, "township") == [
        ("", "全部乡镇（街道）"),
        (str(tree["410923100"].pk), "县2 · 县2镇1"),
        (str(tree["410923101"].pk), "县2 · 县2镇2"),
    ]
    body = chosen.content.decode()
    assert f'<option value="{tree["410923100"].pk}">县2 · 县2镇1</option>' in body
    assert "县1 · 县1镇1" not in body


def test_record_filter_changing_the_county_drops_the_township_of_the_other(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    ChildFactory(village=tree[C], name="丁")
    client.force_login(cast["city"])
    params = {"county": tree["410923"].pk, "township": tree["410922100"].pk, "village": tree[A].pk}
    response = _list(client, params)
    cleaned = response.context["filters"].cleaned_data
    assert (cleaned["county"], cleaned["township"], cleaned["village"]) == (tree["410923"], None, None)
    assert _names(response) == ["丁"]
    assert _choices(response, "village") == [("", "先选乡镇再选村")]


def test_record_filter_within_one_county_has_no_county_choice_but_names_it(client, cast, tree):
    client.force_login(cast["county"])
    response = _list(client)
    assert "county" not in response.context["filters"].fields
    assert _choices(response, "township") == [
        ("", "全部乡镇（街道）"),
        (str(tree["410922100"].pk), "县1 · 县1镇1"),
        (str(tree["410922101"].pk), "县1 · 县1镇2"),
    ]


def test_record_filter_county_for_a_supervisor_of_several_counties(client, cast, tree):
    ChildFactory(village=tree[C], name="丁")
    supervisor = cast["supervisor"]
    supervisor.assigned_regions.add(tree["410922"])
    client.force_login(supervisor)
    assert _names(_list(client, {"county": tree["410923"].pk})) == ["丁"]
    supervisor.assigned_regions.remove(tree["410922"])
    response = _list(client, {"county": tree["410922"].pk})
    assert "county" not in response.context["filters"].fields
    assert _names(response) == ["丁"]  # a single county: the field is gone and its value ignored


def test_record_filter_reloads_itself_when_the_county_changes(client, cast, tree):
    client.force_login(cast["city"])
    body = _list(client).content.decode()
    assert (
        'hx-get="/children/" hx-trigger="change from:#id_county, change from:#id_township"\n'
        '      hx-select="main" hx-target="main" hx-swap="outerHTML" hx-push-url="true">'
    ) in body


# --- page numbers and the jump to a page ---------------------------------------------------


@pytest.mark.parametrize(
    ("number", "pages", "window"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 769, [1, 2, 3, None, 769]),
        (4, 769, [1, 2, 3, 4, 5, 6, None, 769]),
        (5, 769, [1, 2, 3, 4, 5, 6, 7, None, 769]),
        (6, 769, [1, None, 4, 5, 6, 7, 8, None, 769]),
        (400, 769, [1, None, 398, 399, 400, 401, 402, None, 769]),
        (769, 769, [1, None, 767, 768, 769]),
        (765, 769, [1, None, 763, 764, 765, 766, 767, 768, 769]),
    ],
)
def test_page_window_first_last_and_around_the_current(number, pages, window):
    page = Paginator(range(pages * 20), 20).page(number)
    assert page_window(page) == window


def test_record_list_links_page_numbers_and_jumps_keeping_the_filters(client, cast, tree):
    for i in range(125):
        ChildFactory(village=tree[A], name=f"张{i:03d}")
    client.force_login(cast["cadre_a"])
    response = _list(client, {"q": "张", "page": "4"})
    assert response.context["page_numbers"] == [1, 2, 3, 4, 5, 6, 7]
    body = response.content.decode()
    item = (
        r'<li class="page-item[^"]*"[^>]*>(?:<a class="page-link" href="([^"]*)">|<span class="page-link">)'
    )
    links = re.findall(item + "([^<]*)<", body)
    assert links == [
        ("?q=%E5%BC%A0&page=3", "上一页"),
        ("?q=%E5%BC%A0&page=1", "1"),
        ("?q=%E5%BC%A0&page=2", "2"),
        ("?q=%E5%BC%A0&page=3", "3"),
        ("", "4"),
        ("?q=%E5%BC%A0&page=5", "5"),
        ("?q=%E5%BC%A0&page=6", "6"),
        ("?q=%E5%BC%A0&page=7", "7"),
        ("?q=%E5%BC%A0&page=5", "下一页"),
    ]
    jump = re.search(r'<form method="get" class="[^"]*" id="page-jump">(.*?)</form>', body, re.S).group(1)
    assert re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', jump) == [("q", "张")]
    assert 'min="1" max="7" name="page" id="page-number" value="4"' in jump
    assert _names(_list(client, {"q": "张", "page": "7"})) == [f"张{i:03d}" for i in range(120, 125)]


def test_record_list_of_one_page_has_no_page_links(client, cast, tree):
    ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    body = _list(client).content.decode()
    assert ('id="pagination"' in body, 'id="page-jump"' in body) == (False, False)


def test_record_filter_within_a_township_says_all_and_names_the_county(client, cast, tree):
    client.force_login(cast["township"])
    response = _list(client)
    assert [label for _, label in response.context["filters"].fields["township"].choices] == [
        "全部乡镇（街道）",
        "县1 · 县1镇1",
    ]
    assert [label for _, label in response.context["filters"].fields["village"].choices] == [
        "全部村（社区）",
        "县1镇1村1",
        "县1镇1村2",
    ]


def test_record_list_names_township_and_village_apart(client, cast, tree):
    ChildFactory(village=tree[A], name="甲")
    client.force_login(cast["county"])
    body = _list(client).content.decode()
    assert "县1镇1 · 县1镇1村1" in body
