"""Admin sweep (issue 12): every model registered in the admin × its changelist, add, change,
delete and history pages × every role of the cast, by GET, and the change page by POST; and each
account's password page × every role.

Data-driven like tests/test_scope_sweep.py: the models come from ``admin.site._registry``, and a
model registered without a row in ``EXPECTED`` makes the sweep fail until its outcome for every
role is written down. The outcomes are written out from the separation of duties (三权分立,
accounts/services.py ROLE_PERMISSIONS, accounts/admin.py, registry/admin.py, audit/admin.py), not
asked of accounts.policy: the sweep checks the policy, it does not trust it.

Rows marked NEW describe the admin as issue 12 wants it, ahead of the change that brings it:
no OTP device model in the admin for anyone, the login lock-outs (django-axes) the security
administrator's instead of the system administrator's, and no password page for another's
account. Until those changes land, the tests naming them fail — on purpose.

The world is built once for the module in a transaction rolled back at its end; each test runs in
a savepoint, and each POST in a savepoint of its own, rolled back after it.
"""

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import role_permissions_apply
from audit.models import AuditEvent
from audit.services import Action, audit_record
from care.models import CaseDeadline
from care.services import levels
from tests.factories import (
    UserFactory,
    make_child,
    make_elder,
    make_woman,
    post_data,
    region_tree,
    standing_cast,
)

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PAGES = ("changelist", "add", "change", "delete", "history")

# --- what each role gets on each page ---------------------------------------------------------
#
# LOGIN: sent to the admin's login page (not staff: every role but the three administrators and a
# county officer given staff access for the admin's roster import); 403: the admin's "no
# permission" page; 404; 200; RECORD: sent to the record's own page on the site (scoped, logged);
# INDEX: sent to the admin's index ("does not exist": the object is outside what the role sees);
# RESET: sent to the two-person reset (activation code) of that account; OWN: sent to the site's
# own 修改密码 page.
LOGIN, RECORD, INDEX, RESET, OWN = "login", "record", "index", "reset", "own"
STAFF = ("sysadmin", "secadmin", "auditor", "county_staff")
ROLES = (
    "cadre_a", "cadre_b", "cadre_c", "township", "county", "city", "supervisor", "liaison",
    *STAFF,
)  # fmt: skip
NO_ACCESS = {page: 403 for page in PAGES} | {"post": 403}
IMPORT_ONLY = {"changelist": 404, "add": 403, "change": 404, "delete": 403, "history": 404, "post": 404}
# A record's change and history pages send the importer to the site's own scoped, masked and logged
# pages (the sweep found the admin's history page showing the name unlogged; fixed).
IMPORTER = {"changelist": 200, "add": 403, "change": RECORD, "delete": 403, "history": RECORD, "post": RECORD}


def row(changelist, add, change, delete, history, post):
    return {"changelist": changelist, "add": add, "change": change, "delete": delete, "history": history,
            "post": post}  # fmt: skip


# model → staff role → page → outcome (``post``: the change page submitted as shown). Every role
# not in STAFF is sent to the login page, whatever the model.
EXPECTED = {
    # Nobody's: permissions go by role (ROLE_PERMISSIONS), never by group.
    "auth.group": dict.fromkeys(STAFF, NO_ACCESS),
    # NEW: the login lock-outs are the security administrator's (view and unlock), no one else's.
    "axes.accessattempt": {
        "sysadmin": NO_ACCESS,
        "secadmin": row(200, 403, 200, 200, 200, 403),
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    "django_tasks_database.dbtaskresult": dict.fromkeys(STAFF, NO_ACCESS),
    "accounts.organisation": {
        "sysadmin": row(200, 200, 200, 403, 200, 302),
        "secadmin": row(200, 403, 200, 403, 200, 403),
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    # The target is a village cadre's account: the sysadmin edits its name and contact details, the
    # security administrator its role and scope; neither deletes an account (deactivated instead).
    "accounts.user": {
        "sysadmin": row(200, 200, 200, 403, 200, 302),
        "secadmin": row(200, 403, 200, 403, 200, 302),
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    "registry.region": {
        "sysadmin": row(200, 200, 200, 403, 200, 302),
        "secadmin": row(200, 403, 200, 403, 200, 403),
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    # The registers exist in the admin only for the roster import (registry/admin.py).
    **{
        f"registry.{model}": {
            "sysadmin": IMPORT_ONLY,
            "secadmin": IMPORT_ONLY,
            "auditor": IMPORT_ONLY,
            "county_staff": IMPORTER,
        }
        for model in ("child", "woman", "elder")
    },
    # The risk levels and their visit intervals: the system administrator's (four fixed ranks).
    "care.risklevel": {
        "sysadmin": row(200, 403, 200, 403, 200, 302),
        "secadmin": NO_ACCESS,
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    # The hours each step of a case may take: the system administrator's (fixed steps).
    "care.casedeadline": {
        "sysadmin": row(200, 403, 200, 403, 200, 302),
        "secadmin": NO_ACCESS,
        "auditor": NO_ACCESS,
        "county_staff": NO_ACCESS,
    },
    # The audit log: the audit administrator's, read only.
    "audit.auditevent": {
        "sysadmin": NO_ACCESS,
        "secadmin": NO_ACCESS,
        "auditor": row(200, 403, 200, 403, 200, 403),
        "county_staff": NO_ACCESS,
    },
}
# NEW: the OTP device models (TOTP secrets) are in the admin for nobody.
NEVER_REGISTERED_APPS = ("otp_totp", "otp_static", "otp_hotp", "otp_email")
# Nor django-axes' own logs of every login (settings.AXES_ENABLE_ADMIN is off; config/admin.py shows
# the lock-outs only).

# The password page of each kind of account, for each staff role (issue 12 §1): nobody sets another
# person's password here. The system administrator is sent to the two-person reset of an account
# they manage (not the other administrators'); everyone to the site's 修改密码 page for their own.
PASSWORD_TARGETS = ("cadre_a", "city", "sysadmin", "secadmin", "auditor", "county_staff")
PASSWORD = {
    "sysadmin": {**dict.fromkeys(PASSWORD_TARGETS, RESET), "sysadmin": OWN, "secadmin": 404, "auditor": 404},
    "secadmin": {**dict.fromkeys(PASSWORD_TARGETS, 404), "secadmin": OWN},
    "auditor": {**dict.fromkeys(PASSWORD_TARGETS, 404), "auditor": OWN},
    "county_staff": {**dict.fromkeys(PASSWORD_TARGETS, 404), "county_staff": OWN},
}


# --- the world ----------------------------------------------------------------------------------


def admin_cast(tree):
    """The standing cast, the other two administrators (with their role's admin permissions) and
    a county officer with staff access (registry/admin.py's import door)."""
    cast = standing_cast(tree)
    cast["secadmin"] = UserFactory(username="secadmin", role=Role.SECURITY_ADMIN, region=None, is_staff=True)
    cast["auditor"] = UserFactory(username="auditor", role=Role.AUDIT_ADMIN, region=None, is_staff=True)
    cast["county_staff"] = UserFactory(
        username="county_staff", role=Role.COUNTY_OFFICER, region=tree["410922"], is_staff=True
    )
    for key in ("sysadmin", "secadmin", "auditor", "county_staff"):
        role_permissions_apply(user=cast[key])
    return cast


def build_objects(cast, tree):
    """One existing object of every registered model (what its change, delete and history pages open)."""
    now = timezone.now()
    seen = {
        "user_agent": "Mozilla/5.0",
        "ip_address": "10.0.0.9",
        "http_accept": "*/*",
        "path_info": "/login/",
    }
    village = tree["410922100201"]
    return {
        "auth.group": Group.objects.create(name="旧分组"),
        "axes.accessattempt": AccessAttempt.objects.create(
            username="city", attempt_time=now, get_data="", post_data="", failures_since_start=5, **seen
        ),
        "django_tasks_database.dbtaskresult": DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="registry.roster.tasks.run_import_job",
            backend_name="default",
            run_after=now,
            exception_class_path="",
            traceback="",
        ),  # fmt: skip
        "accounts.organisation": Organisation.objects.create(
            name="市教育局", kind=OrganisationKind.MEMBER_UNIT, region=tree["4109"]
        ),
        "accounts.user": cast["cadre_a"],
        "registry.region": village,
        "registry.child": make_child(village),
        "registry.woman": make_woman(village),
        "registry.elder": make_elder(village),
        "care.risklevel": _saved(levels()[2]),
        "care.casedeadline": CaseDeadline.objects.get_or_create(step="assess", defaults={"hours": 168})[0],
        "audit.auditevent": audit_record(
            user=cast["sysadmin"], action=Action.ACCOUNT, obj=cast["cadre_a"], detail="修改：手机号"
        ),
    }


def _saved(level):
    """The level's row (a database emptied by a transactional test has only the defaults, unsaved)."""
    if level.pk is None:
        level.save()
    return level


@pytest.fixture(scope="module")
def admin_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        tree = region_tree()
        cast = admin_cast(tree)
        yield cast, build_objects(cast, tree)
        transaction.set_rollback(True)


@pytest.fixture
def cast(db, admin_world):
    return admin_world[0]


@pytest.fixture
def objects(db, admin_world):
    return admin_world[1]


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def _client(cast, role):
    client = Client()
    client.force_login(cast[role])
    return client


def _label(model):
    return model._meta.label_lower


def _url(label, page, obj):
    app, model = label.split(".")
    args = [] if page in ("changelist", "add") else [obj.pk]
    return reverse(f"admin:{app}_{model}_{'change' if page == 'post' else page}", args=args)


def _outcome(response):
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return LOGIN
        if location.startswith(("/children/", "/women/", "/elders/")):
            return RECORD
        if location.endswith("/reset/"):
            return RESET
        return {reverse("admin:index"): INDEX, reverse("password_change"): OWN}.get(location, 302)
    return response.status_code


def _expected(role, label, page):
    if role not in STAFF:
        return LOGIN
    return EXPECTED[label][role][page]


def _rows(model):
    return sorted(map(repr, model.objects.values_list()))


def _shown(response):
    """What the change page shows in its form, submitted back unchanged (an unticked box left out)."""
    context = response.context
    if response.status_code != 200 or not context or "adminform" not in context:
        return {}
    form = context["adminform"].form
    values = {name: form[name].value() for name in form.fields if not form.fields[name].disabled}
    return {**post_data(values), "_save": "保存"}


# --- the sweep ----------------------------------------------------------------------------------


def test_admin_sweep_knows_every_registered_model():
    registered = {_label(model) for model in admin.site._registry}
    assert registered - set(EXPECTED) == set(), "models in the admin without a row in EXPECTED"
    assert set(EXPECTED) - registered == set(), "EXPECTED names models no longer in the admin"


def test_no_otp_device_model_is_in_the_admin():
    """NEW (issue 12 §1): nobody sees or exports a TOTP secret, not even in the admin."""
    assert [_label(m) for m in admin.site._registry if m._meta.app_label.startswith("otp_")] == []
    assert [_label(m) for m in admin.site._registry if m._meta.app_label in NEVER_REGISTERED_APPS] == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_the_admin_pages_of_its_duty(cast, objects, role):
    client = _client(cast, role)
    mismatches = []
    for label in sorted(EXPECTED):
        obj = objects[label]
        for page in PAGES:
            got = _outcome(client.get(_url(label, page, obj)))
            if got != _expected(role, label, page):
                mismatches.append((label, page, _expected(role, label, page), got))
    assert mismatches == []


@pytest.mark.parametrize("role", ROLES)
def test_posting_each_change_page_changes_only_what_the_role_may(cast, objects, role):
    """The change page submitted as it is shown (or empty where the page is refused): saved where
    the role's duty allows it, refused with nothing changed everywhere else."""
    client = _client(cast, role)
    mismatches = []
    for label in sorted(EXPECTED):
        obj = objects[label]
        model = type(obj)
        with transaction.atomic():
            data = _shown(client.get(_url(label, "change", obj)))
            before = _rows(model)
            got = _outcome(client.post(_url(label, "post", obj), data))
            expected = _expected(role, label, "post")
            if got != expected:
                mismatches.append((label, expected, got))
            elif got != 302:
                assert _rows(model) == before, (label, got)
            transaction.set_rollback(True)
    assert mismatches == []


@pytest.mark.parametrize("role", ROLES)
def test_no_admin_page_of_an_administrator_shows_personal_data(cast, objects, role):
    """A page an administrator may open holds no name or ID number of a record (三权分立: none of
    them reads personal records)."""
    if role not in ("sysadmin", "secadmin", "auditor"):
        return
    secrets = {
        value
        for label in ("registry.child", "registry.woman", "registry.elder")
        for value in (objects[label].name, objects[label].id_number)
    }
    client = _client(cast, role)
    for label in sorted(EXPECTED):
        for page in PAGES:
            response = client.get(_url(label, page, objects[label]))
            if response.status_code == 200:
                body = response.content.decode()
                assert [s for s in secrets if s in body] == [], (label, page)


@pytest.mark.parametrize("role", ROLES)
def test_password_page_of_each_account_kind(cast, role):
    client = _client(cast, role)
    got = {
        target: _outcome(client.get(reverse("admin:auth_user_password_change", args=[cast[target].pk])))
        for target in PASSWORD_TARGETS
    }
    expected = PASSWORD.get(role, dict.fromkeys(PASSWORD_TARGETS, LOGIN))
    assert got == expected
    before = sorted(User.objects.values_list("pk", "password"))
    for target in PASSWORD_TARGETS:
        if expected[target] != 200:  # a form that would set a password: nobody's, so never
            url = reverse("admin:auth_user_password_change", args=[cast[target].pk])
            response = client.post(url, {"password1": "Xin-mima-2022!", "password2": "Xin-mima-2022!"})
            assert _outcome(response) == expected[target], target
    assert sorted(User.objects.values_list("pk", "password")) == before
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE).count() == 0
