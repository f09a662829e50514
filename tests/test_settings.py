"""The settings module refuses to start on a missing or bad value, with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.LANGUAGE_CODE, settings.TIME_ZONE)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _start()
    assert result.returncode == 1
    assert "未设置环境变量 SECRET_KEY" in result.stderr


def test_starts_with_a_secret_key_and_debug_off_by_default():
    result = _start(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "zh-hans", "Asia/Shanghai"]


def test_debug_on_needs_no_secret_key():
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "环境变量 DEBUG='maybe' 无法识别"),
        ({"DEBUG": "1", "DATABASE_URL": "nosuchdb://x"}, "环境变量 DATABASE_URL 无法识别"),
        (
            {"DEBUG": "1", "SESSION_IDLE_SECONDS": "half an hour"},
            "环境变量 SESSION_IDLE_SECONDS='half an hour' 应为整数",
        ),
    ],
)
def test_bad_values_fail_at_start_up_with_a_message(env, message):
    result = _start(**env)
    assert result.returncode == 1
    assert message in result.stderr
