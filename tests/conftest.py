"""The standing cast (STYLE §10): one user per role over a small region tree."""

from datetime import date, timedelta
from importlib import import_module

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp
from registry.choices import Category
from survey import services as survey_services
from tests.factories import region_tree, standing_cast


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # A deliberately fast hasher: the standing cast hashes nine passwords per test.
    # (PBKDF2 still verifies the demo's passwords, hashed before this fixture ran.)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    # Tests run with DEBUG off but without collectstatic: serve assets unhashed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


_raw_force_login = Client.force_login


@pytest.fixture(autouse=True)
def _no_preview_kept_from_another_test(monkeypatch):
    """The roster pipeline keeps a process's last preview for its commit: never another test's."""
    from registry.roster import pipeline

    monkeypatch.setattr(pipeline, "_last_preview", None)


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """``client.force_login(user)`` also passes the second factor for a user who must have one
    (accounts.otp.otp_required: administrators, the city office, staff): a confirmed TOTP device
    is created if the user has none, and the session is marked verified exactly as django-otp's
    ``login()`` does (the device's persistent id under DEVICE_ID_SESSION_KEY). It stands in for
    typing the code, so tests about other things need not. tests/test_auth_hardening.py signs in
    through the real pages (``client.post`` to login, then the code) and never relies on this.
    """

    def force_login(self, user, backend=None):
        _raw_force_login(self, user, backend)
        if otp.otp_required(user):
            device = otp.confirmed_device(user) or TOTPDevice.objects.create(
                user=user, name=otp.DEVICE_NAME, confirmed=True
            )
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def tree(db):
    return region_tree()


@pytest.fixture
def cast(tree):
    """Users of every role. Village A and B share a township; C lies in the other county."""
    return standing_cast(tree)


@pytest.fixture
def campaign(cast, tree):
    """The city's 2022 campaign, started: one return per village, ages counted on 2022-07-31."""
    campaign = survey_services.campaign_create(
        user=cast["city"],
        name="2022年摸底排查",
        region=tree["4109"],
        reference_date=date(2022, 7, 31),
        start_date=date(2022, 8, 1),
        deadline=timezone.localdate() + timedelta(days=30),
        categories=list(Category),
    )
    return survey_services.campaign_start(user=cast["city"], campaign=campaign)


@pytest.fixture
def audit_log_flushable_on_sqlite(transactional_db):
    """For ``transaction=True`` tests. The test database is emptied by DELETE on SQLite, which
    the audit log's append-only triggers refuse: lift them for that cleanup only, and put them back."""
    yield
    if connection.vendor != "sqlite" or "audit_auditevent" not in connection.introspection.table_names():
        return
    triggers = import_module("audit.migrations.0002_append_only_triggers")
    with connection.cursor() as cursor:
        for statement in [*triggers.SQLITE_REVERSE, "DELETE FROM audit_auditevent", *triggers.SQLITE_FORWARD]:
            cursor.execute(statement)
