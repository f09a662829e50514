"""Deployment (issue 6 §4): `check --deploy` is clean with production values; security headers,
a Content-Security-Policy without 'unsafe-inline', and the admin's address allow-list."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "Zq8-production-like-secret-5n2Vt7YhW0pLk3MfR9sJx4Bc6Gd1Ue_aTiOo",
    "ALLOWED_HOSTS": "liushou.example.gov.cn",
    # The admin from the bureau's management network only: without it `check --deploy` refuses.
    "ADMIN_ALLOWED_NETWORKS": "10.8.0.0/16",
}
# Variables a developer's or CI's shell may carry that would change what is checked.
_OVERRIDES = {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_COOKIES",
    "ADMIN_ALLOWED_NETWORKS",
    "TRUSTED_PROXIES",
    "AXES_USERNAME_FAILURE_LIMIT",
}


def _run(args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in _OVERRIDES}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **PRODUCTION, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )


def _settings(*names, **env):
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(repr(settings.{name}))" for name in names
    )
    return _run(["-c", code], **env)


def test_check_deploy_passes_with_production_environment():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_refuses_an_empty_admin_allow_list():
    result = _run(["manage.py", "check", "--deploy"], ADMIN_ALLOWED_NETWORKS="")
    assert result.returncode == 1
    assert result.stderr.splitlines()[3:5] == [
        "?: (config.E001) 未设置 ADMIN_ALLOWED_NETWORKS：生产环境的管理后台（/admin/）将对任何地址开放。",
        "\tHINT: 设置环境变量 ADMIN_ALLOWED_NETWORKS 为允许访问管理后台的网段（CIDR，逗号分隔），"
        "如 ADMIN_ALLOWED_NETWORKS=10.8.0.0/16；反向代理之后还须设置 TRUSTED_PROXIES。",
    ]


def test_plain_check_does_not_ask_for_an_allow_list():
    """A laptop or a test run (no --deploy) is not refused for it."""
    result = _run(["manage.py", "check"], ADMIN_ALLOWED_NETWORKS="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_defaults_are_https_only():
    result = _settings(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "TRUSTED_PROXIES",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [
        "True",
        "31536000",
        "True",
        "True",
        "True",
        "True",
        "None",
        "[]",
    ]


def test_debug_turns_https_off_for_the_laptop():
    result = _settings("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0", "False"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("X-Forwarded-Proto", "('HTTP_X_FORWARDED_PROTO', 'https')"),
        ("X-Forwarded-Ssl=on", "('HTTP_X_FORWARDED_SSL', 'on')"),
    ],
)
def test_proxy_ssl_header_from_the_environment(raw, expected):
    result = _settings("SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER=raw)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECURE_HSTS_SECONDS": "one year"}, "环境变量 SECURE_HSTS_SECONDS='one year' 应为整数"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "环境变量 SECURE_HSTS_SECONDS=-1 不能为负数"),
        ({"SECURE_HSTS_SECONDS": "3600"}, "环境变量 SECURE_HSTS_SECONDS=3600 太短"),
        ({"SECURE_HSTS_PRELOAD": "perhaps"}, "环境变量 SECURE_HSTS_PRELOAD='perhaps' 无法识别"),
        ({"SECURE_PROXY_SSL_HEADER": "X Forwarded Proto"}, "环境变量 SECURE_PROXY_SSL_HEADER="),
        ({"TRUSTED_PROXIES": "nginx"}, "环境变量 TRUSTED_PROXIES 中的 'nginx' 不是网段"),
        (
            {"AXES_USERNAME_FAILURE_LIMIT": "5"},
            "环境变量 AXES_USERNAME_FAILURE_LIMIT=5 应大于 5（同一地址的锁定次数）",
        ),
        (
            {"ADMIN_ALLOWED_NETWORKS": "10.0.0.1/8"},
            "环境变量 ADMIN_ALLOWED_NETWORKS 中的 '10.0.0.1/8' 不是网段",
        ),
        ({"ADMIN_ALLOWED_NETWORKS": "intranet"}, "环境变量 ADMIN_ALLOWED_NETWORKS 中的 'intranet' 不是网段"),
    ],
)
def test_bad_security_values_fail_at_start_up_with_a_message(env, message):
    result = _settings("SECURE_HSTS_SECONDS", **env)
    assert result.returncode == 1
    assert message in result.stderr


def test_short_hsts_for_a_trial_needs_preload_off():
    result = _settings(
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS="3600", SECURE_HSTS_PRELOAD="0"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3600", "False"]


# --- headers on a response ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # The test client speaks plain HTTP; the tests that want HTTPS behaviour ask for ``https``.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def _csp(response):
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_plain_http_is_redirected_to_https(client, https):
    response = client.get("/login/")
    assert (response.status_code, response["Location"]) == (301, "https://testserver/login/")


def test_security_headers_on_a_page_behind_the_tls_proxy(client, https):
    response = client.get("/login/", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert _csp(response) == {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }


def test_cookies_are_secure_and_http_only(client, cast, https):
    response = client.post(
        "/login/",
        {"username": "cadre_a", "password": "Test-pass-2022"},
        headers={"x-forwarded-proto": "https"},
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert (bool(session["secure"]), bool(session["httponly"])) == (True, True)
    page = client.get("/login/", headers={"x-forwarded-proto": "https"})
    assert page.status_code == 302  # already logged in
    form = client.get(reverse("password_change"), headers={"x-forwarded-proto": "https"})
    csrf = form.cookies["csrftoken"]
    assert (bool(csrf["secure"]), bool(csrf["httponly"])) == (True, True)


PAGES = ["home", "record_list", "region_root", "campaign_list"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_no_inline_script_or_style(client, cast, name):
    """What the CSP forbids is not in the pages: the policy holds without 'unsafe-inline'."""
    client.force_login(cast["county"])
    kwargs = {"kind": "children"} if name == "record_list" else {}
    response = client.get(reverse(name, kwargs=kwargs), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert [body.count(s) for s in ("<script>", "<style", "style=", " onclick=", "javascript:")] == [0] * 5
    assert body.count("<script src=") == 3  # Bootstrap, htmx, site.js: all served by the app


# --- the admin's address allow-list -----------------------------------------------------------


@pytest.fixture
def admin_networks(settings):
    settings.ADMIN_ALLOWED_NETWORKS = [ipaddress.ip_network("10.8.0.0/16"), ipaddress.ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("address", "status"),
    [("10.8.3.4", 302), ("::ffff:10.8.3.4", 302), ("fd00::7", 302), ("10.9.0.1", 404), ("203.0.113.5", 404)],
)
def test_admin_only_from_allowed_networks(client, admin_networks, address, status):
    response = client.get("/admin/", REMOTE_ADDR=address)
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/admin/login/?next=/admin/"


def test_admin_login_is_refused_outside_even_for_a_superuser(client, cast, admin_networks):
    cast["sysadmin"].is_superuser = True
    cast["sysadmin"].save()
    client.force_login(cast["sysadmin"])
    assert client.get("/admin/", REMOTE_ADDR="203.0.113.5").status_code == 404
    assert client.post("/admin/login/", {}, REMOTE_ADDR="203.0.113.5").status_code == 404
    assert client.get("/admin/", REMOTE_ADDR="10.8.0.9").status_code == 200


def test_the_rest_of_the_site_is_not_limited(client, admin_networks):
    assert client.get("/login/", REMOTE_ADDR="203.0.113.5").status_code == 200


def test_no_networks_no_restriction(client, settings):
    settings.ADMIN_ALLOWED_NETWORKS = []
    assert client.get("/admin/", REMOTE_ADDR="203.0.113.5").status_code == 302
