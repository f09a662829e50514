"""The home page of each administrator (issue 14 item 4): it names the duty and links to where it
is done, every link opening for that administrator; an account with really no role is still told so."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role, User
from accounts.services import role_permissions_apply
from tests.factories import UserFactory

NO_ROLE = "您的账号尚未分配角色或管辖区划，请联系系统管理员。"


def _admin(username, role):
    user = UserFactory(username=username, role=role, region=None)
    role_permissions_apply(user=user)
    return User.objects.get(pk=user.pk)


def _duty(body):
    """(the sentence above the buttons, [(label, address)] of the buttons) of #admin-duty, or None."""
    match = re.search(r'<p>([^<]*)</p>\s*<div class="[^"]*" id="admin-duty">(.*?)</div>', body, re.S)
    if match is None:
        return None
    links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', match.group(2), re.S)
    return match.group(1), [(re.sub(r"<[^>]+>", "", label).strip(), href) for href, label in links]


@pytest.mark.parametrize(
    ("role", "sentence", "links"),
    [
        (
            Role.SYSADMIN,
            "系统管理员负责账号、单位和区划的维护，不查阅儿童个人档案。",
            [
                ("账号", "/admin/accounts/user/"),
                ("单位", "/admin/accounts/organisation/"),
                ("区划", "/admin/registry/region/"),
                ("账号激活码", "/activations/"),
            ],
        ),
        (
            Role.SECURITY_ADMIN,
            "安全管理员负责为账号分配角色、管辖区划和所属单位，并启用或停用账号；不创建账号，不查阅儿童个人档案。",
            [("角色与管辖区划", "/admin/accounts/user/"), ("待确认的激活码", "/activations/")],
        ),
        (
            Role.AUDIT_ADMIN,
            "审计管理员负责查阅、检索和导出审计日志；不管理账号，不查阅儿童个人档案。",
            [("审计日志", "/audit/")],
        ),
    ],
)
def test_home_of_an_administrator_names_the_duty_and_links_to_it(client, tree, role, sentence, links):
    client.force_login(_admin(role.value, role))
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert _duty(body) == (sentence, links)
    assert NO_ROLE not in body
    for _, href in links:  # nothing on the page that the server then refuses
        assert client.get(href).status_code == 200, href


def test_home_of_an_account_without_role_says_it_has_none(client, tree):
    client.force_login(UserFactory(username="nobody", role="", region=None))
    body = client.get(reverse("home")).content.decode()
    assert body.count(NO_ROLE) == 1
    assert 'id="admin-duty"' not in body
