"""Entering and correcting records on the web: ID numbers normalised, sex and birth date from
the ID, the left-behind rules with their reasons, one person one record, exit and restore,
history, and the access log of every look at personal data."""

import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db.models.signals import post_init
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from registry import records
from registry.choices import Category, ExitReason, HistorySource, LeftBehindType, RecordStatus, Sex
from registry.forms import ChildForm, ElderForm, WomanForm
from registry.models import Child, Elder, IdentityClaim, Woman
from registry.roster.rebound import rebound
from tests.factories import (
    ChildFactory,
    ElderFactory,
    WomanFactory,
    child_post_data,
    elder_post_data,
    form_data,
    make_id_number,
    woman_post_data,
    years_ago,
)

A, B, C = "410922100201", "410922100202", "410923100201"


def _url(page, slug="children", record=None):
    if record is None:
        return reverse(page, kwargs={"kind": slug})
    return reverse(page, kwargs={"kind": slug, "pk": record.pk})


def _full_width(text):
    """``text`` as a phone keyboard in full-width mode types it."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in text)


def _duplicate_message(cadre, category_label):
    return (
        f"该身份证号已在县2县2镇1县2镇1村1登记为{category_label}，同一人只能登记一次。"
        f"如信息有误或人员已迁入本村，请联系县2镇1村1儿童主任{cadre.display_name}核实。"
    )


def _history(body):
    """(header line, [changes]) of each entry on a history page, newest first."""
    entries = []
    for section in re.findall(r'<section class="card mb-2 history-entry">(.*?)</section>', body, re.S):
        header = re.search(r'<div class="small text-muted">(.*?)</div>', section).group(1)
        entries.append((header, re.findall(r"<li>(.*?)</li>", section)))
    return entries


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --- creating a child ----------------------------------------------------------------------


def test_child_create_stores_the_id_normalised_and_derives_sex_and_birth(client, cast, tree):
    birth = years_ago(7, days=100)
    number = make_id_number("410922", birth, Sex.FEMALE, check="X")
    typed = _full_width(number[:6]) + " " + number[6:14] + "\u3000\u200b" + _full_width(number[14:17]) + "x"
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=typed))
    child = Child.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("record_detail", record=child)
    assert (child.id_number, child.sex, child.birth_date) == (number, Sex.FEMALE, birth)
    assert (child.village_code, child.left_behind_type, child.created_by) == (
        A,
        LeftBehindType.BOTH,
        cast["cadre_a"],
    )
    assert (child.is_high_risk, child.risk_flags, child.version) == (False, [], 1)
    claim = IdentityClaim.objects.get()
    assert (claim.id_number, claim.category, claim.village) == (number, Category.CHILD, tree[A])


def test_child_create_refuses_a_sex_contradicting_the_id(client, cast, tree):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410922", years_ago(9), Sex.MALE)
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=number, sex="female"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"sex": ["性别与身份证号不符：身份证号显示为男"]}
    assert Child.objects.count() == IdentityClaim.objects.count() == 0


def test_child_create_refuses_a_birth_date_contradicting_the_id(client, cast, tree):
    client.force_login(cast["cadre_a"])
    birth = date(2016, 5, 20)
    number = make_id_number("410922", birth)
    response = client.post(
        _url("record_create"), child_post_data(tree[A], id_number=number, birth_date="2016-05-21")
    )
    assert response.context["form"].errors == {
        "birth_date": ["出生日期与身份证号不符：身份证号显示为2016年5月20日"]
    }
    assert Child.objects.count() == 0


def test_child_create_refuses_a_bad_check_digit(client, cast, tree):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410922", years_ago(9))
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=wrong))
    assert response.context["form"].errors == {"id_number": ["身份证号校验位错误，请核对最后一位"]}
    assert Child.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"birth_date": None}, "年满16周岁，不属于留守儿童"),
        ({"father_status": "at_home"}, "父亲在家且有监护能力，不属于留守儿童"),
        ({"mother_status": "at_home"}, "母亲在家且有监护能力，不属于留守儿童"),
        ({"father_status": "at_home", "mother_status": "at_home"}, "父母均未外出务工，不属于留守儿童"),
    ],
)
def test_child_create_refuses_a_child_who_is_not_left_behind(client, cast, tree, overrides, reason):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410922", years_ago(16) if "birth_date" in overrides else years_ago(9))
    data = child_post_data(tree[A], id_number=number, **overrides)
    response = client.post(_url("record_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": [reason]}
    assert (
        f'<div class="alert alert-danger" role="alert"><div>{reason}</div></div>' in response.content.decode()
    )
    assert Child.objects.count() == IdentityClaim.objects.count() == 0


def test_child_create_accepts_the_day_before_the_sixteenth_birthday(client, cast, tree):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410922", years_ago(16, days=-1))
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=number))
    assert response.status_code == 302
    assert Child.objects.get().id_number == number


def test_child_create_single_parent_left_behind(client, cast, tree):
    client.force_login(cast["cadre_a"])
    data = child_post_data(tree[A], mother_status="incapable", guardianship_type="none", guardian_name="")
    assert client.post(_url("record_create"), data).status_code == 302
    child = Child.objects.get()
    assert (child.left_behind_type, child.is_high_risk, child.risk_flags) == (
        LeftBehindType.SINGLE,
        True,
        ["无人监护"],
    )


# --- one person, one record ----------------------------------------------------------------


def test_child_create_refuses_an_id_registered_in_another_village(client, cast, tree):
    other = ChildFactory(village=tree[C], guardian_phone="13911112222", father_work_place="上海市")
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=other.id_number))
    assert response.status_code == 200
    assert response.context["form"].errors == {"id_number": [_duplicate_message(cast["cadre_c"], "留守儿童")]}
    body = response.content.decode()
    for detail in (
        other.name,
        other.guardian_name,
        other.father_name,
        other.mother_name,
        "13911112222",
        "上海市",
    ):
        assert detail not in body
    assert Child.objects.count() == IdentityClaim.objects.count() == 1


@pytest.mark.parametrize(
    ("factory", "slug", "post_data", "label"),
    [
        (WomanFactory, "children", child_post_data, "留守妇女"),
        (ChildFactory, "women", woman_post_data, "留守儿童"),
        (ChildFactory, "elders", elder_post_data, "留守儿童"),
        (ElderFactory, "women", woman_post_data, "留守老人"),
    ],
)
def test_record_create_refuses_an_id_registered_in_another_category(
    client, cast, tree, factory, slug, post_data, label
):
    other = factory(village=tree[C])
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_create", slug), post_data(tree[A], id_number=other.id_number))
    assert response.status_code == 200
    assert response.context["form"].errors == {"id_number": [_duplicate_message(cast["cadre_c"], label)]}
    assert other.name not in response.content.decode()
    assert IdentityClaim.objects.count() == 1
    assert Child.objects.count() + Woman.objects.count() + Elder.objects.count() == 1


def test_record_create_service_refuses_a_claimed_id_naming_the_village(cast, tree):
    other = WomanFactory(village=tree[C])
    with pytest.raises(ValidationError) as refused:
        ChildFactory(village=tree[A], id_number=other.id_number)
    assert refused.value.message_dict == {"id_number": [_duplicate_message(cast["cadre_c"], "留守妇女")]}
    assert Child.objects.count() == 0


def test_record_create_many_refuses_the_whole_batch_if_one_id_is_claimed(cast, tree):
    other = WomanFactory(village=tree[C])
    batch = [
        ChildFactory.build(village=tree[A]),
        ChildFactory.build(village=tree[B], id_number=other.id_number),
    ]
    with pytest.raises(ValidationError) as refused:
        records.record_create_many(model=Child, user=cast["county"], records=batch)
    assert refused.value.messages == [_duplicate_message(cast["cadre_c"], "留守妇女")]
    assert Child.objects.count() == 0 and IdentityClaim.objects.count() == 1


def test_record_duplicate_message_without_a_cadre_names_the_township_office(tree):
    other = ChildFactory(village=tree[C])
    assert records.duplicate_id_message(other.id_number) == (
        "该身份证号已在县2县2镇1县2镇1村1登记为留守儿童，同一人只能登记一次。"
        "如信息有误或人员已迁入本村，请联系县2镇1民政所核实。"
    )


def test_record_duplicate_in_own_village_names_the_township_reviewer_not_the_typist(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=child.id_number))
    assert response.context["form"].errors == {
        "id_number": [
            "该身份证号已在县1县1镇1县1镇1村1登记为留守儿童，同一人只能登记一次。"
            f"如信息有误或人员已迁入本村，请联系县1镇1审核员{cast['township'].display_name}核实。"
        ]
    }
    assert response.context["form"].duplicate_url == f"/children/{child.pk}/"
    body = response.content.decode()
    assert (
        '<div class="alert alert-info py-2" id="duplicate-record">该身份证号的记录在您的管辖范围内：'
        f'<a href="/children/{child.pk}/">查看已登记的记录</a></div>'
    ) in body
    assert Child.objects.count() == 1


def test_record_duplicate_in_scope_links_the_record_across_categories(client, cast, tree):
    elder = ElderFactory(village=tree[B])
    client.force_login(cast["county"])
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=elder.id_number))
    assert response.context["form"].errors == {
        "id_number": [
            "该身份证号已在县1县1镇1县1镇1村2登记为留守老人，同一人只能登记一次。"
            f"如信息有误或人员已迁入本村，请联系县1镇1村2儿童主任{cast['cadre_b'].display_name}"
            f"或县1镇1审核员{cast['township'].display_name}核实。"
        ]
    }
    assert response.context["form"].duplicate_url == f"/elders/{elder.pk}/"


def test_record_duplicate_outside_scope_gives_no_link_and_no_detail(client, cast, tree):
    child = ChildFactory(village=tree[B], guardian_phone="13911112222")
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=child.id_number))
    assert response.context["form"].duplicate_url is None
    body = response.content.decode()
    assert (f"/children/{child.pk}/" in body, "duplicate-record" in body) == (False, False)
    for detail in (child.name, child.guardian_name, child.father_name, "13911112222"):
        assert detail not in body


# --- an ID number of another county -------------------------------------------------------

NANLE_ID_IN_QINGFENG = (
    "身份证号地区码 410923（南乐县） 与所在村的县（区）410922（清丰县） 不一致："
    "迁入人员可照常保存，否则请核对"
)


def test_child_create_with_another_countys_id_warns_and_saves(client, cast, tree):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410923", years_ago(9, days=40))
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=number))
    assert response.status_code == 302
    child = Child.objects.get()
    assert child.id_warnings == NANLE_ID_IN_QINGFENG
    detail = client.get(_url("record_detail", record=child)).content.decode()
    assert f'<div class="alert alert-warning py-2">{child.id_warnings}</div>' in detail


def test_child_form_shows_another_countys_id_warning_before_saving(client, cast, tree):
    client.force_login(cast["cadre_a"])
    number = make_id_number("410923", years_ago(9, days=40))
    response = client.post(_url("record_create"), child_post_data(tree[A], id_number=number, name=""))
    assert response.status_code == 200
    assert response.context["form"].id_warnings == (NANLE_ID_IN_QINGFENG,)
    warning = f'<div class="alert alert-warning py-2" role="status" id="id-warnings">{NANLE_ID_IN_QINGFENG}'
    assert f"{warning}</div>" in response.content.decode()
    assert Child.objects.count() == 0


def test_record_with_own_countys_id_has_no_warning(client, cast, tree):
    child = ChildFactory(village=tree[C])
    woman = WomanFactory(village=tree[A])
    assert (child.id_warnings, woman.id_warnings) == ("", "")


def test_woman_moved_to_another_county_gets_the_warning(cast, tree):
    woman = WomanFactory(village=tree[A])
    moved = records.record_update(record=woman, user=cast["county"], data={"village": tree[B]}, version=1)
    assert moved.id_warnings == ""
    moved = records.record_update(record=moved, user=None, data={"village": tree[C]}, version=2)
    assert moved.id_warnings == (
        "身份证号地区码 410922（清丰县） 与所在村的县（区）410923（南乐县） 不一致："
        "迁入人员可照常保存，否则请核对"
    )


def test_child_exited_record_still_holds_its_id(client, cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_exit(
        record=child, user=cast["cadre_a"], reason=ExitReason.MOVED_OUT, date=years_ago(0), note="", version=1
    )
    client.force_login(cast["cadre_b"])
    response = client.post(_url("record_create"), child_post_data(tree[B], id_number=child.id_number))
    assert response.context["form"].errors["id_number"] == [
        "该身份证号已在县1县1镇1县1镇1村1登记为留守儿童，同一人只能登记一次。"
        f"如信息有误或人员已迁入本村，请联系县1镇1村1儿童主任{cast['cadre_a'].display_name}"
        f"或县1镇1审核员{cast['township'].display_name}核实。"
    ]
    assert Child.objects.count() == 1


# --- editing -------------------------------------------------------------------------------


def test_child_edit_saves_the_changes_and_recomputes(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    data = form_data(
        child,
        cast["cadre_a"],
        name="张小红",
        mother_status="incapable",
        guardian_assessment="parent_incapable",
    )
    response = client.post(_url("record_edit", record=child), data)
    assert response.status_code == 302
    assert response["Location"] == _url("record_detail", record=child)
    child.refresh_from_db()
    assert (child.name, child.version, child.left_behind_type) == ("张小红", 2, LeftBehindType.SINGLE)
    assert (child.is_high_risk, child.risk_flags) == (True, ["监护人无监护能力"])


def test_child_edit_refuses_a_change_that_ends_left_behind(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_edit", record=child), form_data(child, None, father_status="at_home"))
    assert response.context["form"].errors == {"__all__": ["父亲在家且有监护能力，不属于留守儿童"]}
    child.refresh_from_db()
    assert (child.father_status, child.version) == ("away_working", 1)


def test_child_edit_of_the_id_number_moves_the_claim(client, cast, tree):
    child = ChildFactory(village=tree[A])
    old = child.id_number
    new = make_id_number("410922", child.birth_date)
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_edit", record=child), form_data(child, None, id_number=new))
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.id_number == new
    assert list(IdentityClaim.objects.values_list("id_number", "category", "village")) == [
        (new, Category.CHILD, tree[A].pk)
    ]
    # The old number is free again; the new one is taken.
    ChildFactory(village=tree[A], id_number=old)
    with pytest.raises(ValidationError):
        ChildFactory(village=tree[B], id_number=new)


def test_child_edit_refuses_an_id_number_registered_elsewhere(client, cast, tree):
    child = ChildFactory(village=tree[A])
    other = ElderFactory(village=tree[C])
    client.force_login(cast["cadre_a"])
    data = form_data(child, None, id_number=other.id_number, sex="", birth_date="")
    response = client.post(_url("record_edit", record=child), data)
    assert response.context["form"].errors == {"id_number": [_duplicate_message(cast["cadre_c"], "留守老人")]}
    child.refresh_from_db()
    assert (child.id_number, child.version) == (child.id_number, 1)
    assert IdentityClaim.objects.filter(id_number=child.id_number).exists()


# --- exit and restore ----------------------------------------------------------------------


def test_child_exit_keeps_the_record_with_reason_date_and_note(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    assert client.get(_url("record_status", record=child)).context["form"].initial == {"version": 1}
    data = {"reason": "parents_returned", "date": "2026-10-01", "note": "父亲回乡创业", "version": 1}
    response = client.post(_url("record_status", record=child), data)
    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.status, child.exit_reason, child.exit_date, child.exit_note, child.version) == (
        RecordStatus.EXITED,
        ExitReason.PARENTS_RETURNED,
        date(2026, 10, 1),
        "父亲回乡创业",
        2,
    )
    assert IdentityClaim.objects.filter(id_number=child.id_number).exists()
    detail = client.get(_url("record_detail", record=child)).content.decode()
    assert (
        '<div class="alert alert-secondary py-2">已于 2026-10-01 退出台账：父母返乡（父亲回乡创业）</div>'
        in detail
    )


def test_child_exit_for_an_entry_error(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    page = client.get(_url("record_status", record=child)).content.decode()
    assert '<option value="entry_error">登记错误</option>' in page
    data = {"reason": "entry_error", "date": "2026-10-01", "note": "不是本村人", "version": 1}
    assert client.post(_url("record_status", record=child), data).status_code == 302
    child.refresh_from_db()
    assert (child.status, child.exit_reason, child.get_exit_reason_display()) == (
        RecordStatus.EXITED,
        ExitReason.ENTRY_ERROR,
        "登记错误",
    )


def test_child_exit_requires_reason_and_date(client, cast, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_status", record=child), {"note": "x", "version": 1})
    assert response.context["form"].errors == {
        "reason": ["这个字段是必填项。"],
        "date": ["这个字段是必填项。"],
    }
    child.refresh_from_db()
    assert child.status == RecordStatus.ACTIVE


def test_child_restore_brings_an_exited_record_back(client, cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_exit(
        record=child, user=None, reason=ExitReason.OTHER, date=years_ago(0), note="误报", version=1
    )
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_status", record=child), {"note": "核实后仍在册", "version": 2})
    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.status, child.exit_reason, child.exit_date, child.exit_note, child.version) == (
        RecordStatus.ACTIVE,
        "",
        None,
        "恢复：核实后仍在册",
        3,
    )


def test_child_restore_refused_for_a_child_who_aged_out(client, cast, tree, settings):
    child = ChildFactory(village=tree[A], birth_date=years_ago(10, days=3))
    records.record_exit(
        record=child, user=None, reason=ExitReason.AGED_OUT, date=years_ago(0), note="", version=1
    )
    settings.LEFT_BEHIND_CHILD_MAX_AGE = 10
    client.force_login(cast["cadre_a"])
    response = client.post(_url("record_status", record=child), {"note": "恢复", "version": 2})
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": ["无法恢复：年满10周岁，不属于留守儿童"]}
    child.refresh_from_db()
    assert (child.status, child.exit_reason, child.version) == (RecordStatus.EXITED, ExitReason.AGED_OUT, 2)


# --- history -------------------------------------------------------------------------------


def test_child_history_lists_who_when_source_and_each_change(client, cast, tree):
    client.force_login(cast["cadre_a"])
    client.post(_url("record_create"), child_post_data(tree[A], name="张小明", guardian_phone="13812345678"))
    child = Child.objects.get()
    client.force_login(cast["township"])
    data = form_data(
        child,
        None,
        name="张晓明",
        guardian_phone="13700001111",
        mother_status="deceased",
        assistance=["subsistence", "medical"],
    )
    assert client.post(_url("record_edit", record=child), data).status_code == 302
    client.post(
        _url("record_status", record=child),
        {"reason": "moved_out", "date": "2026-11-02", "note": "随父母迁出", "version": 2},
    )
    history = list(child.history.order_by("-history_id"))

    response = client.get(_url("record_history", record=child))

    assert response.status_code == 200
    township, cadre = cast["township"].display_name, cast["cadre_a"].display_name
    assert _history(response.content.decode()) == [
        (
            f"{_local(history[0].history_date)} · {township} · 修改 · 来源：网页填报",
            [
                "退出日期：（空） → 2026-11-02",
                "退出说明：（空） → 随父母迁出",
                "退出原因：（空） → 迁出",
                "状态：在册 → 已退出",
            ],
        ),
        (
            f"{_local(history[1].history_date)} · {township} · 修改 · 来源：网页填报",
            [
                "享受救助：（空） → 低保、医疗救助",
                "监护人电话：13812345678 → 13700001111",
                "母亲状况：外出务工 → 死亡",
                "姓名：张小明 → 张晓明",
            ],
        ),
        (f"{_local(history[2].history_date)} · {cadre} · 登记 · 来源：网页填报", []),
    ]


def test_record_history_shows_a_moved_village_by_name(client, cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_update(record=child, user=cast["township"], data={"village": tree[B]}, version=1)
    client.force_login(cast["township"])
    entries = _history(client.get(_url("record_history", record=child)).content.decode())
    assert entries[0][1] == ["村（社区）：县1镇1村1 → 县1镇1村2"]


def test_record_history_of_an_import_names_its_source(client, cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_update(
        record=child, user=None, data={"name": "新名"}, version=1, source=HistorySource.IMPORT
    )
    client.force_login(cast["cadre_a"])
    entries = _history(client.get(_url("record_history", record=child)).content.decode())
    assert entries[0][0].endswith(" · 系统 · 修改 · 来源：Excel导入")


# --- access log (the audit log's 查看 / 列表 / 查看历史 events) ---------------------------------

ACCESS_ACTIONS = [AuditEvent.Action.VIEW, AuditEvent.Action.LIST, AuditEvent.Action.HISTORY]


def _access_events():
    return AuditEvent.objects.filter(action__in=ACCESS_ACTIONS)


@pytest.mark.parametrize(
    ("page", "action"),
    [("record_detail", AuditEvent.Action.VIEW), ("record_history", AuditEvent.Action.HISTORY)],
)
@pytest.mark.parametrize("slug", ["children", "women", "elders"])
def test_record_page_writes_the_access_log(client, cast, tree, page, action, slug):
    factory = {"children": ChildFactory, "women": WomanFactory, "elders": ElderFactory}[slug]
    record = factory(village=tree[A])
    client.force_login(cast["county"])
    assert client.get(_url(page, slug, record), REMOTE_ADDR="10.20.30.40").status_code == 200
    log = _access_events().get()
    assert (
        log.user,
        log.username,
        log.action,
        log.object_type,
        log.object_id,
        log.row_count,
        log.result,
        log.ip_address,
    ) == (
        cast["county"],
        "county",
        action,
        f"registry.{record.category}",
        record.pk,
        1,
        AuditEvent.Result.SUCCESS,
        "10.20.30.40",
    )


def test_record_list_writes_the_access_log(client, cast, tree):
    ChildFactory(village=tree[A])
    ChildFactory(village=tree[B])
    ChildFactory(village=tree[C])
    client.force_login(cast["township"])
    response = client.get(_url("record_list"), {"q": "童"}, REMOTE_ADDR="10.20.30.41")
    assert response.status_code == 200
    log = _access_events().get()
    assert (
        log.user,
        log.action,
        log.object_type,
        log.object_id,
        log.row_count,
        log.detail,
        log.ip_address,
    ) == (
        cast["township"],
        AuditEvent.Action.LIST,
        "registry.child",
        None,
        2,
        "查询记录（2 条结果）；搜索：***",
        "10.20.30.41",
    )


def test_record_out_of_scope_look_writes_no_access_log(client, cast, tree):
    child = ChildFactory(village=tree[C])
    client.force_login(cast["cadre_a"])
    assert client.get(_url("record_detail", record=child)).status_code == 404
    assert _access_events().count() == 0


# --- women and elders ----------------------------------------------------------------------


def test_woman_create_and_edit(client, cast, tree):
    client.force_login(cast["cadre_a"])
    data = woman_post_data(tree[A], phone="１３７ １２３４ ５６７８")
    assert client.post(_url("record_create", "women"), data).status_code == 302
    woman = Woman.objects.get()
    assert (woman.sex, woman.phone, woman.husband_months_away, woman.version) == (
        Sex.FEMALE,
        "13712345678",
        12,
        1,
    )
    assert IdentityClaim.objects.get().category == Category.WOMAN
    response = client.post(
        _url("record_edit", "women", woman),
        form_data(woman, None, husband_months_away=24, minor_children_count=2),
    )
    assert response.status_code == 302
    woman.refresh_from_db()
    assert (woman.husband_months_away, woman.minor_children_count, woman.version) == (24, 2, 2)


@pytest.mark.parametrize(
    ("overrides", "reason", "field"),
    [
        ({"husband_months_away": 3}, "丈夫外出务工不满6个月，不属于留守妇女", "__all__"),
        ({"sex_of_id": Sex.MALE}, "留守妇女应为女性", "__all__"),
        ({"age": 60}, "年满60周岁，不属于留守妇女", "__all__"),
        ({"minor_children_count": 3}, "未成年子女数不能多于子女数", "minor_children_count"),
    ],
)
def test_woman_create_refused_with_the_reason(client, cast, tree, overrides, reason, field):
    age = overrides.pop("age", 35)
    sex = overrides.pop("sex_of_id", Sex.FEMALE)
    number = make_id_number("410922", years_ago(age), sex)
    client.force_login(cast["cadre_a"])
    response = client.post(
        _url("record_create", "women"), woman_post_data(tree[A], id_number=number, **overrides)
    )
    assert response.context["form"].errors == {field: [reason]}
    assert Woman.objects.count() == 0


def test_elder_create_and_edit(client, cast, tree):
    client.force_login(cast["township"])
    data = elder_post_data(tree[B], caregiver_name="赵小二", caregiver_phone="0393-1234567")
    assert client.post(_url("record_create", "elders"), data).status_code == 302
    elder = Elder.objects.get()
    assert (elder.village, elder.sex, elder.caregiver_phone, elder.created_by) == (
        tree[B],
        Sex.MALE,
        "0393-1234567",
        cast["township"],
    )
    response = client.post(
        _url("record_edit", "elders", elder), form_data(elder, None, living_arrangement="with_spouse")
    )
    assert response.status_code == 302
    elder.refresh_from_db()
    assert (elder.living_arrangement, elder.version) == ("with_spouse", 2)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"children_away_count": 2}, "有子女未外出务工，不属于留守老人"),
        ({"min_months_away": 5}, "有子女外出务工不满6个月，不属于留守老人"),
        ({"age": 59}, "未满60周岁，不属于留守老人"),
    ],
)
def test_elder_create_refused_with_the_reason(client, cast, tree, overrides, reason):
    number = make_id_number("410922", years_ago(overrides.pop("age", 70)))
    client.force_login(cast["cadre_a"])
    response = client.post(
        _url("record_create", "elders"), elder_post_data(tree[A], id_number=number, **overrides)
    )
    assert response.context["form"].errors == {"__all__": [reason]}
    assert Elder.objects.count() == 0


def test_elder_create_refuses_more_children_away_than_children(client, cast, tree):
    client.force_login(cast["cadre_a"])
    data = elder_post_data(tree[A], children_count=3, children_away_count=4)
    response = client.post(_url("record_create", "elders"), data)
    assert response.context["form"].errors == {"children_away_count": ["外出子女数不能多于子女数"]}
    assert Elder.objects.count() == 0


def test_an_exited_record_must_be_restored_before_it_is_edited(client, cast, tree):
    child = ChildFactory(village=tree[A])
    child = records.record_exit(
        record=child,
        user=cast["cadre_a"],
        reason=ExitReason.PARENTS_RETURNED,
        date=date(2022, 9, 1),
        note="",
        version=child.version,
    )
    client.force_login(cast["cadre_a"])
    url = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    response = client.post(url, form_data(child, cast["cadre_a"], name="改名"))
    assert response.context["form"].non_field_errors() == [records.EXITED_MESSAGE]
    child.refresh_from_db()
    assert child.name != "改名"


# --- one form rebound row after row (the Excel import) judges as a new form would ------------


def _posted(data):
    """``data`` as a posted form arrives: a QueryDict, a list giving several values of a key."""
    posted = QueryDict(mutable=True)
    for key, value in data.items():
        posted.setlist(key, [str(v) for v in value] if isinstance(value, list) else [value])
    return posted


def _judged(form):
    """What judging left: the errors, the cleaned record values, and the instance's fields."""
    valid = form.is_valid()
    instance = {f.attname: getattr(form.instance, f.attname) for f in form.instance._meta.concrete_fields}
    return valid, form.errors.get_json_data(), form.record_data() if valid else None, instance


@pytest.mark.parametrize(
    "form_class,model,post_data,bad",
    [
        (ChildForm, Child, child_post_data, {"father_status": "乱写", "guardian_phone": "123"}),
        (WomanForm, Woman, woman_post_data, {"minor_children_count": 5, "children_count": 2}),
        (ElderForm, Elder, elder_post_data, {"children_away_count": 4, "children_count": 3}),
    ],
)
def test_rebound_form_judges_each_row_as_a_form_built_for_it(cast, tree, form_class, model, post_data, bad):
    village = tree[A]
    existing = {Child: ChildFactory, Woman: WomanFactory, Elder: ElderFactory}[model](village=village)
    villages = {v.pk: v for v in (tree[A], tree[B], tree[C])}
    claimed = set(IdentityClaim.objects.values_list("id_number", flat=True))
    update = form_data(existing, cast["county"], name="改名")
    rows = [
        (post_data(village), None),
        (post_data(village, id_number="410922201513051234"), None),  # wrong check digit
        (post_data(village, name="", **bad), None),
        (post_data(village, id_number=existing.id_number), None),  # already registered
        (update, existing.pk),
        ({**post_data(village), "village": tree[C].pk + 10_000}, None),  # not a village of the scope
        (post_data(village), None),  # nothing carried over from the rows before
        (_posted({**post_data(village), "assistance": ["subsistence", "medical"]}), None),  # a QueryDict
        ({**post_data(village), "assistance": ["subsistence", "medical"]}, None),
    ]
    shared = None
    for data, pk in rows:

        def instance(pk=pk):
            return model.objects.get(pk=pk) if pk else None

        def build(data=data):
            return rebound(form_class)(
                data, instance=instance(), user=cast["county"], villages=villages, claimed=claimed
            )

        shared = shared or build()
        assert _judged(shared.rebind(data, instance())) == _judged(build())


def _rebound_child_form(cast, tree):
    villages = {v.pk: v for v in (tree[A], tree[B])}
    return rebound(ChildForm)({}, user=cast["county"], villages=villages, claimed=set())


def test_rebound_form_gives_each_new_row_a_record_of_its_own(cast, tree):
    form = _rebound_child_form(cast, tree)
    first = form.rebind(child_post_data(tree[A]), None)
    first.is_valid()
    first = first.instance
    first.assistance.append("低保")
    second = form.rebind(child_post_data(tree[A]), None).instance  # not judged yet: as built

    assert first is not second and first._state is not second._state and second._state.adding
    fields = [f.attname for f in Child._meta.concrete_fields]
    assert [getattr(second, name) for name in fields] == [getattr(Child(), name) for name in fields]
    # A default computed anew (a list) is not shared with the row before.
    assert second.assistance == [] and second.risk_flags is not first.risk_flags


def test_rebound_form_builds_each_record_through_init_when_something_listens(cast, tree):
    built = []

    def listener(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(listener, sender=Child)
    try:
        form = _rebound_child_form(cast, tree)
        instance = form.rebind(child_post_data(tree[A]), None).instance
    finally:
        post_init.disconnect(listener, sender=Child)

    assert built[-1] is instance


def test_record_form_names_each_village_with_its_township(client, cast, tree):
    client.force_login(cast["county"])
    form = client.get(_url("record_create")).context["form"]
    assert [label for _, label in form.fields["village"].choices] == [
        "---------",
        "县1镇1 · 县1镇1村1（410922100201）",
        "县1镇1 · 县1镇1村2（410922100202）",
        "县1镇2 · 县1镇2村1（410922101201）",
        "县1镇2 · 县1镇2村2（410922101202）",
    ]
