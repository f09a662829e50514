"""No resident ID number and no mobile number in the application's logs: every configured handler
masks them in the message, its arguments, the traceback, and the error e-mail of a failed request."""

import io
import logging
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.logging import RedactPersonalNumbers, redact

ID_NUMBER, PHONE = "41092220150305123X", "13812345678"
MASKED_ID, MASKED_PHONE = "410922********123X", "138****5678"


@csrf_exempt
def failing_view(request):
    raise ValueError(f"bad entry {request.POST['id_number']} {request.POST['phone']}")


urlpatterns = [path("fail/", failing_view)]


def _is_ours(handler):
    """A handler that writes somewhere: not pytest's capture, not a library's NullHandler."""
    return not (type(handler).__module__.startswith("_pytest") or isinstance(handler, logging.NullHandler))


def _redacts(handler):
    return any(isinstance(f, RedactPersonalNumbers) for f in handler.filters)


@contextmanager
def console_output():
    """What the configured console handler (settings.LOGGING, on the root logger) writes."""
    (console,) = [h for h in logging.getLogger().handlers if _is_ours(h)]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        yield stream
    finally:
        console.setStream(previous)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"身份证号{ID_NUMBER}，电话{PHONE}。", f"身份证号{MASKED_ID}，电话{MASKED_PHONE}。"),
        ("id=410922201503051234&phone=+86 138-1234-5678", "id=410922********1234&phone=+86 138****5678"),
        ("ID41092220150305123x tel:8613812345678", "ID410922********123x tel:86138****5678"),
        # Not an ID or a mobile: a 19-digit number, a 10-digit one, a landline-like 12-digit one.
        ("4109222015030512345 1381234567 123812345678", "4109222015030512345 1381234567 123812345678"),
    ],
)
def test_redact_masks_id_and_mobile_numbers(text, masked):
    assert redact(text) == masked


def test_every_configured_handler_redacts():
    assert {name for name, handler in settings.LOGGING["handlers"].items() if "redact_personal_numbers"
            not in handler.get("filters", [])} == set()  # fmt: skip
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    handlers = {h for logger in loggers for h in getattr(logger, "handlers", []) if _is_ours(h)}
    assert len(handlers) >= 3  # console, django.server, mail_admins
    assert [h for h in handlers if not _redacts(h)] == []


def test_log_message_arguments_and_traceback_are_masked():
    logger = logging.getLogger("registry.roster")
    with console_output() as output:
        logger.warning("导入失败：身份证号 %s，电话 %s", ID_NUMBER, PHONE)
        try:
            raise ValueError(f"duplicate key (id_number)=({ID_NUMBER}) phone {PHONE}")
        except ValueError:
            logger.exception("保存 %s 失败", ID_NUMBER)
    text = output.getvalue()
    assert (ID_NUMBER in text, PHONE in text) == (False, False)
    assert text.splitlines()[0] == f"导入失败：身份证号 {MASKED_ID}，电话 {MASKED_PHONE}"
    assert text.splitlines()[1] == f"保存 {MASKED_ID} 失败"
    assert (
        text.splitlines()[-1] == f"ValueError: duplicate key (id_number)=({MASKED_ID}) phone {MASKED_PHONE}"
    )


@pytest.mark.urls("tests.test_log_redaction")
def test_request_error_log_and_admin_mail_are_masked(settings):
    settings.ADMINS = [("运维", "ops@example.gov.cn")]
    client = Client(raise_request_exception=False)
    with console_output() as output:
        response = client.post("/fail/", {"id_number": ID_NUMBER, "phone": PHONE, "name": "张小明"})
    assert response.status_code == 500
    text = output.getvalue()
    assert text.splitlines()[0] == "Internal Server Error: /fail/"
    assert text.splitlines()[-1] == f"ValueError: bad entry {MASKED_ID} {MASKED_PHONE}"
    assert (ID_NUMBER in text, PHONE in text) == (False, False)
    (email,) = mail.outbox
    body = email.subject + email.body
    assert (ID_NUMBER in body, PHONE in body, MASKED_ID in body, "张小明" in body) == (
        False,
        False,
        True,
        True,
    )
