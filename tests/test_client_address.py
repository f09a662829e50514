"""The client's address behind the reverse proxy (issue 12 item 6): X-Forwarded-For is believed
from a trusted proxy only (settings.TRUSTED_PROXIES), and the admin allow-list, the audit log and
the login lock-out all see the same address (config/clientip.py). Each way is tested: through the
proxy the header gives the client; sent straight to the server, a forged header is ignored.
"""

import ipaddress

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from config.clientip import client_ip
from tests.factories import PASSWORD

PROXY = "10.0.0.2"
CLIENT = "203.0.113.9"
OUTSIDER = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]


def _ip(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # Through the proxy: the address it appended.
        (PROXY, CLIENT, CLIENT),
        ("::ffff:10.0.0.2", CLIENT, CLIENT),
        # What the client wrote itself stands left of it, and is not believed.
        (PROXY, f"10.8.3.4, {CLIENT}", CLIENT),
        # Two proxies of ours: the first one's entry is skipped.
        (PROXY, f"10.8.3.4, {CLIENT}, 10.0.0.3", CLIENT),
        # The proxy's own request, or a header it could not fill: the proxy.
        (PROXY, None, PROXY),
        (PROXY, "unknown", PROXY),
        (PROXY, f"{CLIENT}, garbage", PROXY),
        # Straight to the server: the header is the client's claim, ignored.
        (OUTSIDER, "10.8.3.4", OUTSIDER),
        (OUTSIDER, f"10.8.3.4, {PROXY}", OUTSIDER),
        ("::ffff:198.51.100.7", None, OUTSIDER),
    ],
)
def test_client_ip_believes_the_header_from_a_trusted_proxy_only(behind_proxy, remote, forwarded, expected):
    assert _ip(remote, forwarded) == expected


def test_client_ip_without_trusted_proxies_is_the_peer(settings):
    settings.TRUSTED_PROXIES = []
    assert (_ip(PROXY, CLIENT), _ip("", CLIENT), client_ip(None)) == (PROXY, None, None)


# --- the admin allow-list ------------------------------------------------------------------------


@pytest.fixture
def admin_networks(settings, behind_proxy):
    settings.ADMIN_ALLOWED_NETWORKS = [ipaddress.ip_network("10.8.0.0/16")]


def test_admin_allow_list_sees_the_client_behind_the_proxy(client, admin_networks):
    inside = client.get("/admin/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="10.8.3.4")
    outside = client.get("/admin/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert (inside.status_code, inside["Location"]) == (302, "/admin/login/?next=/admin/")
    assert outside.status_code == 404


def test_admin_allow_list_ignores_a_forged_header_sent_straight_to_the_server(client, admin_networks):
    forged = client.get("/admin/", REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR="10.8.3.4")
    forged_chain = client.get("/admin/", REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR=f"10.8.3.4, {PROXY}")
    assert (forged.status_code, forged_chain.status_code) == (404, 404)


# --- the audit log --------------------------------------------------------------------------------


def _audited_login(client, username, password, **meta):
    client.post(reverse("login"), {"username": username, "password": password}, **meta)
    return AuditEvent.objects.filter(username=username).values_list("action", "ip_address").first()


def test_audit_event_records_the_client_behind_the_proxy(client, cast, behind_proxy):
    event = _audited_login(client, "cadre_a", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert event == (AuditEvent.Action.LOGIN, CLIENT)


def test_audit_event_ignores_a_forged_header_sent_straight_to_the_server(client, cast, behind_proxy):
    event = _audited_login(client, "cadre_a", "wrong-1", REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR=CLIENT)
    assert event == (AuditEvent.Action.LOGIN_FAILED, OUTSIDER)


# --- the login lock-out ---------------------------------------------------------------------------


def _fail(username, times, **meta):
    client = Client()
    for _ in range(times):
        client.post(reverse("login"), {"username": username, "password": "wrong-1"}, **meta)


def test_lockout_counts_the_client_behind_the_proxy_not_the_proxy(cast, behind_proxy):
    _fail("city", 5, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    locked = Client().post(
        reverse("login"),
        {"username": "city", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=CLIENT,
    )
    office = Client().post(
        reverse("login"),
        {"username": "city", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="10.8.3.4",
    )
    assert (locked.status_code, office.status_code, office["Location"]) == (429, 302, reverse("home"))
    # The refused sixth try counts too (django-axes: a failure during the lock-out renews it).
    assert list(AccessAttempt.objects.values_list("username", "ip_address", "failures_since_start")) == [
        ("city", CLIENT, 6)
    ]


def test_lockout_ignores_a_forged_header_sent_straight_to_the_server(cast, behind_proxy):
    """A guesser who names a new address in every request is still one address."""
    client = Client()
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": "cadre_a", "password": "wrong-1"},
            REMOTE_ADDR=OUTSIDER,
            HTTP_X_FORWARDED_FOR=f"10.8.3.{n}",
        )
    again = client.post(
        reverse("login"),
        {"username": "cadre_a", "password": PASSWORD},
        REMOTE_ADDR=OUTSIDER,
        HTTP_X_FORWARDED_FOR="10.8.3.99",
    )
    assert again.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", "failures_since_start")) == [(OUTSIDER, 6)]
