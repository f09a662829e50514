"""The one settings module, driven by the environment.

Every value that differs between a laptop and production comes from an environment
variable; a value that cannot be understood stops the start-up with a message that says
which variable is wrong and what it should look like.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path

import bootstrap_wrapper
import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"环境变量 {name}={raw!r} 无法识别：请用 1/0、true/false、yes/no 或 on/off。")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"环境变量 {name}={raw!r} 应为整数。") from None


def env_networks(name):
    """Comma-separated networks in CIDR notation (``10.1.0.0/16,192.168.3.7``), parsed."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError:
            raise ImproperlyConfigured(
                f"环境变量 {name} 中的 {item!r} 不是网段：请写成 CIDR，如 10.1.0.0/16 或 192.168.3.7，"
                "多个用逗号分隔（主机位须为 0）。"
            ) from None
    return networks


def env_proxy_ssl_header(name):
    """``X-Forwarded-Proto`` (meaning ``=https``) or ``Header-Name=value`` → Django's META pair."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, _, value = raw.partition("=")
    header, value = header.strip(), value.strip() or "https"
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ImproperlyConfigured(
            f"环境变量 {name}={raw!r} 无法识别：应为 TLS 代理设置的请求头名，如 X-Forwarded-Proto "
            "或 X-Forwarded-Proto=https。"
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "未设置环境变量 SECRET_KEY：关闭 DEBUG 时必须提供（例如 "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')）。"
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # django-axes (failed logins, lock-outs) under a Chinese name; config/apps.py.
    "config.apps.AxesConfig",
    "django_htmx",
    "simple_history",
    "import_export",
    "csp",
    # Two-factor sign-in (TOTP) for administrators and the city office: accounts/otp.py.
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Background jobs (roster imports of many rows): django-tasks with its database backend;
    # `manage.py db_worker` runs them (`make run` starts one).
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "registry",
    "survey",
    "care",
    "audit",
    # The deployment's own system checks (config/checks.py).
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.AdminAllowListMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Lets audit events written by services (which take no request) record the client's address.
    "audit.middleware.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Session epoch, absolute limit, two-factor step and first-login password change, in that
    # order, before any view (accounts/middleware.py). After auth, OTP, messages and htmx.
    "accounts.middleware.SessionGuardMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]
# Django's form renderer with its widget templates (input, select and option, textarea) built in
# Python, to the byte the same HTML: a select's per-option template includes were most of a form
# page's CPU time (config/renderers.py, bench/page_cpu.py).
FORM_RENDERER = "config.renderers.FormRenderer"

try:
    DATABASES = {
        "default": dj_database_url.config(
            default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(
        f"环境变量 DATABASE_URL 无法识别（{exc}）：应形如 postgres://用户:密码@主机:5432/库名 "
        "或 sqlite:////绝对路径/db.sqlite3。"
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The server and the background worker share the file. WAL: readers (a 15,000-row export)
    # no longer block the writer, nor it them; a writer waits up to DB_SQLITE_TIMEOUT seconds for
    # another instead of failing at once with "database is locked" (tests/test_worker.py). Not
    # transaction_mode IMMEDIATE: SQLite's online backup of a connection inside such a transaction
    # never finishes (registry/backup.py, tests/test_backup.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "timeout": env_int("DB_SQLITE_TIMEOUT", 20),
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs 100–170 ms per statistics query and gains nothing on these
    # short aggregations (bench/survey.py).
    # A row held by another transaction (two people saving one record) is waited for at most
    # DB_LOCK_TIMEOUT_MS, then the save fails with a message instead of hanging (tests/test_faults.py).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c jit=off -c lock_timeout={env_int('DB_LOCK_TIMEOUT_MS', 5000)}"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out user is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.validators.ChineseMinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.LettersAndDigitsValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end after 30 minutes: the cookie's age is renewed on every request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# However active, a session ends this long after its login (accounts/middleware.py).
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 8 * 3600)
if SESSION_ABSOLUTE_SECONDS <= 0:
    raise ImproperlyConfigured(
        f"环境变量 SESSION_ABSOLUTE_SECONDS={SESSION_ABSOLUTE_SECONDS} 应为正整数（秒）。"
    )
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Failed logins (django-axes; accounts/lockouts.py). Five wrong passwords lock that account name
# from that address; twenty from anywhere lock the name everywhere, both for AXES_COOLOFF_TIME.
# - By name and address, not by name alone: otherwise anyone could lock any account, the city
#   office's included, by typing its name five times from anywhere.
# - Not by address alone: township offices share one NAT address on the government intranet, and
#   five colleagues' typos must not lock a whole office out; each colleague's name is counted apart.
#   (A colleague behind the same NAT address can still lock one name: the security administrator
#   unlocks it in the admin, and the unlock is in the audit log.)
# - Twenty across addresses (four addresses' worth) stops a guess spread over many addresses —
#   at most 20 passwords per name per 30 minutes against the password rules (8+ characters,
#   letters and digits, no common password) — while one insider at one address cannot reach it.
AXES_FAILURE_LIMIT = 5
AXES_USERNAME_FAILURE_LIMIT = env_int("AXES_USERNAME_FAILURE_LIMIT", 20)
if AXES_USERNAME_FAILURE_LIMIT <= AXES_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        f"环境变量 AXES_USERNAME_FAILURE_LIMIT={AXES_USERNAME_FAILURE_LIMIT} 应大于 {AXES_FAILURE_LIMIT}"
        "（同一地址的锁定次数），否则任何人都能从别处锁定他人的账号。"
    )
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockouts.LockoutHandler"
# The client's address as the allow-list and the audit log see it (config/clientip.py).
AXES_CLIENT_IP_CALLABLE = "config.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockouts.lockout_response"
AXES_VERBOSE = False
# Lock-outs are shown (in Chinese) and released by the security administrator through our own
# admin page (config/admin.py), which writes each release to the audit log.
AXES_ENABLE_ADMIN = False

# Two-factor sign-in (django-otp, TOTP; accounts/otp.py). These roles (accounts.models.Role values:
# the three administrators and the city office), staff and superusers must enrol a phone and
# enter its code after the password; anyone else may choose to.
OTP_REQUIRED_ROLES = ("sysadmin", "security_admin", "audit_admin", "city_office")
OTP_TOTP_ISSUER = "留守儿童关爱保护信息平台"
# Five wrong codes in a row lock the code entry for AXES_COOLOFF_TIME, as five wrong passwords
# lock the account (django-otp's failure counter on the device). Its exponential back-off
# (1, 2, 4 … seconds) is off: the lock replaces it.
OTP_FAILURE_LIMIT = AXES_FAILURE_LIMIT
OTP_TOTP_THROTTLE_FACTOR = 0

# Activation codes (accounts/activation.py): nobody sets another person's password; a new account
# or a reset gets a one-time code in two halves (system administrator + security administrator).
# A code is good for this many hours after it is asked for, and dies after this many wrong tries.
ACCOUNT_ACTIVATION_HOURS = env_int("ACCOUNT_ACTIVATION_HOURS", 72)
ACCOUNT_ACTIVATION_MAX_FAILURES = 5

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Chinese for what third-party apps ship untranslated (django-axes' lock-out records).
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap comes from the bootstrap-wrapper wheel and htmx from django-htmx: every asset is
# served by the app itself, nothing from a CDN (users sit on government intranets).
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap/css", str(bootstrap_wrapper.get_bootstrap_css_dir())),
    ("bootstrap/js", str(bootstrap_wrapper.get_bootstrap_js_dir())),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Deployment security (Django's deployment checklist; `manage.py check --deploy`) -----------
# HTTPS only: plain HTTP is redirected, and browsers are told (HSTS) never to try it again.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Behind a TLS-terminating proxy, the header it sets to say the original request was HTTPS.
# Set it only if the proxy always sets (or strips) that header: a client could forge it otherwise.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"环境变量 SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS} 不能为负数。")
if SECURE_HSTS_PRELOAD and 0 < SECURE_HSTS_SECONDS < 365 * 24 * 3600:
    raise ImproperlyConfigured(
        f"环境变量 SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS} 太短：浏览器预加载列表要求至少 "
        "31536000（一年）。试运行时请同时设 SECURE_HSTS_PRELOAD=0。"
    )
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp): only our own scripts, styles and images, no inline code;
# templates use no <script> blocks, no on…= handlers and no style="…" attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "style-src": [SELF],
        "script-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

# The reverse proxies in front (CIDRs, comma-separated). From these, and only these, the client's
# address is taken from X-Forwarded-For (config/clientip.py): the admin allow-list, the audit log
# and the login lock-out all see it. Empty: no proxy, REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
# The admin only from these networks (CIDRs, comma-separated); elsewhere /admin/ is a 404.
# Empty means no restriction, which `check --deploy` refuses (config/checks.py, config.E001).
ADMIN_ALLOWED_NETWORKS = env_networks("ADMIN_ALLOWED_NETWORKS")

# Logs never hold a resident ID or a mobile number (issue 6): every handler masks them
# (config/logging.py). Django's default handlers are replaced, so none writes unmasked: the
# "django" loggers reach the console through the root, and the ADMINS by e-mail without DEBUG.
_REDACT = "redact_personal_numbers"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        _REDACT: {"()": "config.logging.RedactPersonalNumbers"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "require_debug_true": {"()": "django.utils.log.RequireDebugTrue"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": [_REDACT]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["require_debug_true", _REDACT],
        },
        "mail_admins": {
            "class": "config.logging.RedactingAdminEmailHandler",
            # Errors only, as Django's default: a 4xx (e.g. a refused 413 upload) is no e-mail,
            # and the e-mail's report would read the whole request body.
            "level": "ERROR",
            "filters": ["require_debug_false", _REDACT],
        },
    },
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Uploads: a roster may be up to registry.roster.reader.MAX_FILE_BYTES (20 MB); the import view
# refuses a larger request from its Content-Length before reading it. Files above 5 MB stream to a
# temporary file instead of memory; ordinary form fields stay within Django's 2.5 MB.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# Background jobs: django-tasks with the database backend (django-tasks-db), run by `db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A roster with more rows than this is previewed and imported by the worker, with a progress bar.
IMPORT_BACKGROUND_ROWS = env_int("IMPORT_BACKGROUND_ROWS", 3000)
# SQLite only (PostgreSQL asks the worker's lock): a running job silent for this long may be re-run.
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 600)
# A queued job no worker has picked up after this long says so on its page, with 重试 / 放弃.
IMPORT_PICKUP_SECONDS = env_int("IMPORT_PICKUP_SECONDS", 60)
# A job whose worker died is resumed by `run_worker` this many times, then marked 失败.
IMPORT_AUTO_RESTARTS = env_int("IMPORT_AUTO_RESTARTS", 2)
# An import's uploaded file, errors and invalid rows (personal data) are deleted on commit or
# discard, and whatever a job still holds after this many hours without progress is purged
# (`run_worker` hourly, or `manage.py purge_import_jobs` from cron).
IMPORT_RETENTION_HOURS = env_int("IMPORT_RETENTION_HOURS", 24)
# What run_worker does every hour besides its own housekeeping (callables by dotted path): the
# care loop marks cases past their deadline (idempotent; care_escalate does the same by hand) and
# recounts every village's care figures for today (care/counting.py).
WORKER_HOURLY = ["care.cases.case_escalate_all", "care.services.village_counts_rebuild"]

# Audit log (audit app): events are kept at least this many days; `purge_audit` refuses younger
# ones, and the database triggers refuse them whatever this says. Below 180 is refused here.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 180)
if AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured(
        f"环境变量 AUDIT_RETENTION_DAYS={AUDIT_RETENTION_DAYS} 太短：审计日志至少保存 180 天。"
    )

# Registry rules (DESIGN §2): thresholds as settings
# Read by registry.rules at call time. Local definitions differ between provinces; change
# them here, not in the code.
# A child is left behind while younger than this many full years on the reference date.
LEFT_BEHIND_CHILD_MAX_AGE = 16
# Reporting age bands (inclusive, full years); each must match a registry.choices.AgeBand value.
LEFT_BEHIND_CHILD_AGE_BANDS = ((0, 5), (6, 13), (14, 15))
# Months away from home that make a parent, husband or child count as working away (3 or 6).
LEFT_BEHIND_MIN_MONTHS_AWAY = 6
# Whether work inside the home county counts as 外出务工: province-dependent, used by the forms.
LEFT_BEHIND_COUNT_IN_COUNTY_WORK = False
# 留守妇女: aged MIN_AGE to MAX_AGE inclusive. 留守老人: aged ELDER_MIN_AGE or more.
LEFT_BEHIND_WOMAN_MIN_AGE = 20
LEFT_BEHIND_WOMAN_MAX_AGE = 59
LEFT_BEHIND_ELDER_MIN_AGE = 60
