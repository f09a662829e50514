"""The admin's door onto the roster import: our pipeline behind django-import-export's admin
URLs — upload, preview (counts and every error), confirm — for staff importers in their own scope,
and nothing of it for anyone else (a system administrator reads no personal records)."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from registry.choices import HistorySource, Sex
from registry.models import Child, Woman
from tests.factories import ChildFactory, UserFactory, make_id_number, years_ago

A, B, C = "410922100201", "410922100202", "410923100201"
CHILD_HEADER = ["姓名", "身份证号", "村代码", "监护类型", "监护人姓名", "与儿童关系", "监护人电话",
                "父亲姓名", "父亲状况", "母亲姓名", "母亲状况", "就读学校", "年级"]  # fmt: skip
IMPORT, CONFIRM, CHANGELIST = (
    "admin:registry_child_import",
    "admin:registry_child_process_import",
    "admin:registry_child_changelist",
)


def _child_row(name, village):
    number = make_id_number(village[:6], years_ago(9, days=40))
    return [name, number, village, "祖辈监护", "张奶奶", "奶奶", "13812345678",
            "张大山", "外出务工", "李小花", "外出务工", "第一小学", "三年级"]  # fmt: skip


def _csv(header, rows):
    """A roster as a GBK CSV, the way WPS saves one (import-export alone would read UTF-8 only)."""
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return SimpleUploadedFile("花名册.csv", ("\r\n".join(lines) + "\r\n").encode("gbk"), "text/csv")


def _staff_county(tree):
    return UserFactory(
        username="county_staff", role=Role.COUNTY_OFFICER, region=tree["410922"], is_staff=True
    )


def _preview(client, upload, url=IMPORT):
    response = client.post(reverse(url), {"import_file": upload})
    assert response.status_code == 200
    return response


def _confirm(client, preview, skip_invalid=False, url=CONFIRM):
    data = {"token": preview.context["confirm_form"]["token"].value()}
    if skip_invalid:
        data["skip_invalid"] = "on"
    return client.post(reverse(url), data)


def test_staff_county_officer_imports_through_the_admin(client, tree):
    officer = _staff_county(tree)
    client.force_login(officer)
    changelist = client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200
    assert reverse(IMPORT) in changelist.content.decode()
    assert client.get(reverse(IMPORT)).status_code == 200

    preview = _preview(client, _csv(CHILD_HEADER, [_child_row("张小明", A), _child_row("李小红", B)]))
    summary = preview.context["summary"]
    assert (summary["rows"], summary["valid"], summary["invalid"], summary["created"], summary["errors"]) == (
        2,
        2,
        0,
        2,
        [],
    )
    assert Child.objects.count() == 0  # a preview writes nothing

    response = _confirm(client, preview)
    assert (response.status_code, response["Location"]) == (302, reverse(CHANGELIST))
    children = Child.objects.order_by("village_code")
    assert [(c.name, c.village_code, c.created_by) for c in children] == [
        ("张小明", A, officer),
        ("李小红", B, officer),
    ]
    first = children[0].history.get()
    assert (first.history_change_reason, first.history_user) == (HistorySource.IMPORT, officer)
    # The same confirmation twice does not import twice: the stashed file is gone.
    assert _confirm(client, preview).status_code == 302
    assert Child.objects.count() == 2


def test_another_countys_villages_are_refused(client, tree):
    client.force_login(_staff_county(tree))
    preview = _preview(client, _csv(CHILD_HEADER, [_child_row("张小明", A), _child_row("外县娃", C)]))
    summary = preview.context["summary"]
    assert (summary["rows"], summary["valid"], summary["invalid"]) == (2, 1, 1)
    assert summary["errors"] == [
        {"row": 3, "column": "村代码", "message": f"村代码“{C}”不存在或不在您可导入的范围内"}
    ]
    body = preview.content.decode()
    assert f"村代码“{C}”不存在或不在您可导入的范围内" in body

    refused = _confirm(client, preview)
    assert (refused.status_code, refused.context["refused"], Child.objects.count()) == (200, True, 0)

    response = _confirm(client, refused, skip_invalid=True)
    assert response.status_code == 302
    assert list(Child.objects.values_list("name", "village_code")) == [("张小明", A)]


def test_a_file_of_foreign_villages_only_offers_no_confirmation(client, tree):
    client.force_login(_staff_county(tree))
    preview = _preview(client, _csv(CHILD_HEADER, [_child_row("外县娃", C)]))
    assert (preview.context["summary"]["invalid"], "confirm_form" in preview.context) == (1, False)


def test_an_unreadable_file_is_a_form_error(client, tree):
    client.force_login(_staff_county(tree))
    preview = _preview(client, SimpleUploadedFile("x.csv", "没有表头\r\n".encode("gbk")))
    assert preview.context["form"].errors["import_file"] == [
        "没有找到表头：请确认表头行包含“姓名”“身份证号”“村(社区)”等列名（可使用导入模板）。"
    ]


def test_confirmation_is_bound_to_the_uploader(client, tree, cast):
    officer = _staff_county(tree)
    client.force_login(officer)
    preview = _preview(client, _csv(CHILD_HEADER, [_child_row("张小明", A)]))
    city = UserFactory(username="city_staff", role=Role.CITY_OFFICE, region=tree["4109"], is_staff=True)
    client.force_login(city)
    response = _confirm(client, preview)
    assert (response.status_code, response["Location"]) == (302, reverse(IMPORT))
    assert Child.objects.count() == 0
    forged = client.post(reverse(CONFIRM), {"token": preview.context["confirm_form"]["token"].value() + "x"})
    assert (forged.status_code, Child.objects.count()) == (302, 0)
    client.force_login(officer)  # the uploader still may (and so the stashed file is consumed)
    assert (_confirm(client, preview).status_code, Child.objects.count()) == (302, 1)


def test_women_import_through_their_admin(client, tree):
    client.force_login(_staff_county(tree))
    number = make_id_number("410922", years_ago(35, days=40), Sex.FEMALE)
    header = [
        "姓名",
        "身份证号",
        "村代码",
        "丈夫姓名",
        "丈夫务工地",
        "丈夫外出月数",
        "子女数",
        "未成年子女数",
    ]
    upload = _csv(header, [["王秀英", number, A, "李建国", "江苏省苏州市", "12", "2", "1"]])
    preview = _preview(client, upload, url="admin:registry_woman_import")
    assert preview.context["summary"]["errors"] == []
    response = _confirm(client, preview, url="admin:registry_woman_process_import")
    assert response.status_code == 302
    assert list(Woman.objects.values_list("name", "id_number")) == [("王秀英", number)]


def test_changelist_shows_the_importers_own_records_and_is_logged(client, tree):
    ChildFactory(village=tree[A], name="本县娃")
    foreign = ChildFactory(village=tree[C], name="外县娃")
    officer = _staff_county(tree)
    client.force_login(officer)
    response = client.get(reverse(CHANGELIST))
    assert [child.name for child in response.context["cl"].result_list] == ["本县娃"]
    body = response.content.decode()
    assert (foreign.name in body, foreign.id_number in body) == (False, False)
    log = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert (log.user, log.object_type, log.row_count, log.detail) == (
        officer,
        "registry.child",
        1,
        "后台列表（1 条结果）",
    )


def test_record_admin_has_no_add_change_or_delete(client, tree):
    child = ChildFactory(village=tree[A])
    client.force_login(_staff_county(tree))
    assert client.get(reverse("admin:registry_child_add")).status_code == 403
    assert client.post(reverse("admin:registry_child_delete", args=[child.pk])).status_code == 403
    response = client.get(reverse("admin:registry_child_change", args=[child.pk]))
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("record_detail", kwargs={"kind": "children", "pk": child.pk}),
    )


def test_sysadmin_and_other_staff_get_404(client, cast, tree):
    township = UserFactory(role=Role.TOWNSHIP_REVIEWER, region=tree["410922100"], is_staff=True)
    superuser = UserFactory(role="", region=None, is_staff=True, is_superuser=True)
    ChildFactory(village=tree[A])
    for user in (cast["sysadmin"], township, superuser):
        client.force_login(user)
        assert client.get(reverse(CHANGELIST)).status_code == 404, user
        assert client.get(reverse(IMPORT)).status_code == 404, user
        assert client.post(reverse(IMPORT), {"import_file": _csv(CHILD_HEADER, [])}).status_code == 404
        assert client.post(reverse(CONFIRM), {"token": "x"}).status_code == 404
        index = client.get(reverse("admin:index")).content.decode()
        assert reverse(CHANGELIST) not in index, user
    assert Child.objects.count() == 1


def test_county_officer_without_staff_never_reaches_the_admin(client, cast):
    client.force_login(cast["county"])
    response = client.get(reverse(IMPORT))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_process_import_is_post_only(client, tree):
    client.force_login(_staff_county(tree))
    assert client.get(reverse(CONFIRM)).status_code == 405
