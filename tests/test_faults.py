"""Faults the system must survive without a person stepping in (PostgreSQL; SQLite has neither
row locks nor a server to restart):

- a row held by another transaction: a second save waits at most DB_LOCK_TIMEOUT_MS (5 s) and
  then says so in plain Chinese, instead of hanging the cadre's phone;
- a database connection killed under the application (a PostgreSQL restart): CONN_HEALTH_CHECKS
  replaces it before the next request uses it. bench/faults.py restarts a real server.
"""

import threading
import time

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import connection, transaction
from django.urls import reverse

from accounts.models import User
from registry.models import Child
from tests.factories import ChildFactory, form_data

A = "410922100201"
BUSY = "该记录正由他人保存中，请稍后重试"

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks or server: faults are tested on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_database_sessions_give_up_waiting_for_a_lock_after_five_seconds():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("5s",)


def test_record_edit_while_another_save_holds_the_row_fails_within_seconds(client, cast, tree):
    child = ChildFactory(village=tree[A], name="原名")
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                Child.objects.select_for_update().get(pk=child.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(10)
        client.force_login(cast["cadre_a"])
        started = time.monotonic()
        response = client.post(
            reverse("record_edit", kwargs={"kind": "children", "pk": child.pk}),
            form_data(child, None, name="新名"),
        )
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(30)

    assert 4.5 < waited < 8
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": [BUSY]}
    assert (
        f'<div class="alert alert-danger" role="alert"><div>{BUSY}</div></div>' in response.content.decode()
    )
    child.refresh_from_db()
    assert (child.name, child.version) == ("原名", 1)


def test_connection_killed_under_the_application_is_replaced_at_the_next_request(db):
    settings_dict = connection.settings_dict
    assert (settings_dict["CONN_HEALTH_CHECKS"], settings_dict["CONN_MAX_AGE"] > 0) == (True, True)
    User.objects.count()
    killed = connection.connection.get_backend_pid()
    admin = psycopg2.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
    )
    try:
        with admin, admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed])
            assert cursor.fetchone() == (True,)
    finally:
        admin.close()

    request_started.send(sender=WSGIHandler)  # what every request does first

    assert User.objects.count() == 0
    assert connection.connection.get_backend_pid() != killed
