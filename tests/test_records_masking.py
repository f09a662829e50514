"""A member-unit liaison sees ID and phone numbers masked, server-side, on every page; the
full numbers never reach their browser. Everyone else who reads the record sees them whole."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from stdnum.cn import ric

from registry import records
from tests.factories import ChildFactory, WomanFactory, make_id_number

A = "410922100201"
PHONE, OLD_PHONE = "13812345678", "13900001111"


def _id_ending_1234():
    """A valid ID of village A's county whose last four characters are 1234."""
    day = date(2015, 3, 1)
    while ric.calc_check_digit(f"410922{day:%Y%m%d}1230") != "4":
        day += timedelta(days=1)
    return f"410922{day:%Y%m%d}1234"


def _masked_child(tree, cast):
    """A child whose ID ends in 1234 and guardian phone is 138 1234 5678, both reached by an
    edit, so the history shows them too. Returns (child, every full number on the record)."""
    number = _id_ending_1234()
    birth = ric.get_birth_date(number)
    old_number = make_id_number("410922", birth)
    father_id = make_id_number("410922", date(1985, 6, 1))
    child = ChildFactory(
        village=tree[A],
        id_number=old_number,
        birth_date=birth,
        guardian_phone=OLD_PHONE,
        father_id_number=father_id,
        father_phone="13611112222",
        mother_phone="13733334444",
    )
    child = records.record_update(
        record=child,
        user=cast["cadre_a"],
        data={"id_number": number, "guardian_phone": PHONE},
        version=1,
    )
    return child, [number, old_number, father_id, PHONE, OLD_PHONE, "13611112222", "13733334444"]


def _list_lines(body):
    return [
        re.sub(r"\s+", " ", line).strip()
        for line in re.findall(r'<div class="small text-muted">\s*(.*?)<br>', body, re.S)
    ]


def _detail(body):
    pairs = re.findall(r'<dt class="[^"]*">(.*?)</dt><dd class="[^"]*">(.*?)</dd>', body)
    return dict(pairs)


def _history_changes(body):
    return re.findall(r"<li>(.*?)</li>", body)


def test_liaison_sees_masked_numbers_on_the_list(client, cast, tree):
    child, numbers = _masked_child(tree, cast)
    client.force_login(cast["liaison"])
    body = client.get(reverse("record_list", kwargs={"kind": "children"})).content.decode()
    # Only the year of birth: the eight masked digits are the birth date.
    assert _list_lines(body) == [f"男 · {child.birth_date.year}年 · 410922********1234"]
    assert f"{child.birth_date:%Y-%m-%d}" not in body
    assert "按职责要求，身份证号和电话已脱敏显示。" in body
    for number in numbers:
        assert number not in body


def test_liaison_sees_masked_numbers_on_the_detail_page(client, cast, tree):
    child, numbers = _masked_child(tree, cast)
    client.force_login(cast["liaison"])
    body = client.get(reverse("record_detail", kwargs={"kind": "children", "pk": child.pk})).content.decode()
    shown = _detail(body)
    assert (shown["身份证号"], shown["监护人电话"]) == ("410922********1234", "138****5678")
    assert shown["出生日期"] == f"{child.birth_date.year}年"
    assert (shown["父亲身份证号"], shown["父亲电话"], shown["母亲电话"]) == (
        "410922********" + numbers[2][-4:],
        "136****2222",
        "137****4444",
    )
    for number in numbers:
        assert number not in body


def test_liaison_sees_masked_numbers_in_the_history(client, cast, tree):
    child, numbers = _masked_child(tree, cast)
    client.force_login(cast["liaison"])
    body = client.get(reverse("record_history", kwargs={"kind": "children", "pk": child.pk})).content.decode()
    assert _history_changes(body) == [
        "监护人电话：139****1111 → 138****5678",
        f"身份证号：410922********{numbers[1][-4:]} → 410922********1234",
    ]
    for number in numbers:
        assert number not in body


def test_liaison_sees_a_woman_phone_masked(client, cast, tree):
    woman = WomanFactory(village=tree[A], phone=PHONE, husband_phone="13566667777")
    client.force_login(cast["liaison"])
    body = client.get(reverse("record_detail", kwargs={"kind": "women", "pk": woman.pk})).content.decode()
    shown = _detail(body)
    assert (shown["联系电话"], shown["丈夫电话"], shown["身份证号"]) == (
        "138****5678",
        "135****7777",
        f"410922********{woman.id_number[-4:]}",
    )
    for number in (woman.id_number, PHONE, "13566667777"):
        assert number not in body


@pytest.mark.parametrize("who", ["cadre_a", "township", "county", "city"])
def test_record_readers_other_than_a_liaison_see_full_numbers(client, cast, tree, who):
    child, numbers = _masked_child(tree, cast)
    client.force_login(cast[who])
    listing = client.get(reverse("record_list", kwargs={"kind": "children"})).content.decode()
    assert _list_lines(listing) == [f"男 · {child.birth_date:%Y-%m-%d} · {numbers[0]}"]
    detail = _detail(
        client.get(reverse("record_detail", kwargs={"kind": "children", "pk": child.pk})).content.decode()
    )
    assert (detail["身份证号"], detail["监护人电话"], detail["父亲身份证号"]) == (
        numbers[0],
        PHONE,
        numbers[2],
    )
    assert detail["出生日期"] == f"{child.birth_date:%Y-%m-%d}"
    history = client.get(reverse("record_history", kwargs={"kind": "children", "pk": child.pk}))
    assert _history_changes(history.content.decode()) == [
        f"监护人电话：{OLD_PHONE} → {PHONE}",
        f"身份证号：{numbers[1]} → {numbers[0]}",
    ]


def test_liaison_history_shows_only_the_year_of_a_changed_birth_date(client, cast, tree):
    child = ChildFactory(village=tree[A], birth_date=date(2015, 3, 5), id_number=_id_ending_1234())
    records.record_update(record=child, user=None, data={"birth_date": date(2015, 4, 6)}, version=1)
    client.force_login(cast["liaison"])
    body = client.get(reverse("record_history", kwargs={"kind": "children", "pk": child.pk})).content.decode()
    assert _history_changes(body) == ["出生日期：2015年 → 2015年"]


def test_liaison_cannot_search_by_id_number(client, cast, tree):
    child, numbers = _masked_child(tree, cast)
    client.force_login(cast["liaison"])
    url = reverse("record_list", kwargs={"kind": "children"})
    for text in (numbers[0][:10], numbers[0]):
        response = client.get(url, {"q": text})
        assert list(response.context["page"].object_list) == []
    assert list(client.get(url, {"q": child.name}).context["page"].object_list) == [child]
    client.force_login(cast["city"])
    assert list(client.get(url, {"q": numbers[0][:10]}).context["page"].object_list) == [child]


def test_record_masks_keep_only_region_and_last_four():
    assert records.mask_id_number("41092220150305123X") == "410922********123X"
    assert records.mask_phone("13812345678") == "138****5678"
    assert records.mask_phone("0393-1234567") == "039****4567"
