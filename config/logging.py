"""No resident ID number and no mobile number in the application's logs (issue 6).

``RedactPersonalNumbers`` is a logging filter installed on every handler of ``settings.LOGGING``:
it rewrites each record before any handler formats it — the message with its arguments, the
exception's traceback text and the stack — masking 18-character ID numbers (17 digits and a
digit or X) and mainland mobile numbers (1[3-9] and nine digits, with or without +86, spaces or
hyphens) the way a member-unit liaison sees them (410922********123X, 138****5678).

``RedactingAdminEmailHandler`` does the same to the error e-mail Django sends the ADMINS: that
report is built from the request (POST data, local variables) rather than from the record.

Loaded by ``logging.config.dictConfig`` before the apps are ready: it imports nothing of Django's
models, so the masks are written out here rather than taken from registry.records.
"""

import logging
import re

from django.utils.log import AdminEmailHandler

_ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[ -]?)?1[3-9][0-9])[ -]?[0-9]{4}[ -]?([0-9]{4})(?![0-9])")


def redact(text):
    """``text`` with every ID number and mobile number in it masked."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    return _MOBILE.sub(r"\1****\2", text)


class RedactPersonalNumbers(logging.Filter):
    """Mask ID and mobile numbers in a log record's message, arguments, traceback and stack.

    Never drops a record (returns True). The message is formatted with its arguments once here
    and the arguments cleared, so no handler formats them unmasked later.
    """

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, masked
            message = " ".join([str(record.msg), *map(str, record.args or ())])
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingAdminEmailHandler(AdminEmailHandler):
    """Django's error e-mail to the ADMINS, with ID and mobile numbers masked in its subject and
    body (the body carries the request's POST data and the traceback's local variables)."""

    def send_mail(self, subject, message, *args, **kwargs):
        if kwargs.get("html_message"):
            kwargs["html_message"] = redact(kwargs["html_message"])
        super().send_mail(redact(subject), redact(message), *args, **kwargs)
