"""Two-factor sign-in with TOTP (django-otp): who must use it, enrolment, verification, lockout.

Administrators (``ADMIN_ROLES``), the city office (``settings.OTP_REQUIRED_ROLES``), staff and
superusers must have a confirmed device and enter its code after the password; anyone else may
enrol one, and is then asked for the code at every login. A user has at most one device.

Five wrong codes in a row (django-otp's throttling counter on the device) lock the code entry for
``settings.AXES_COOLOFF_TIME``, as five wrong passwords lock the account.
"""

import re
import time
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts.models import User

# The secret shown on the enrolment page until the user confirms it with a code.
SESSION_PENDING_KEY = "_otp_pending_key"
DEVICE_NAME = "手机验证器"


def otp_required(user):
    """Must ``user`` sign in with a second factor? Administrators, the city office, staff and superusers."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.is_staff or user.role in settings.OTP_REQUIRED_ROLES)
    )


def confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def lock_minutes():
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def is_locked(device):
    """Five (``settings.OTP_FAILURE_LIMIT``) wrong codes in a row, the last within the cool-off time."""
    return bool(
        device.throttling_failure_count >= settings.OTP_FAILURE_LIMIT
        and device.throttling_failure_timestamp
        and timezone.now() - device.throttling_failure_timestamp < settings.AXES_COOLOFF_TIME
    )


@dataclass(frozen=True)
class Verification:
    device: TOTPDevice | None
    locked: bool = False


@transaction.atomic
def otp_verify(*, user, token):
    """Check ``token`` against ``user``'s confirmed device (row-locked, so two requests cannot both
    use one code). A locked device refuses even the right code.

    Side effects (django-otp's ``verify_token``): a right code resets the failure count and
    records its time step, so it cannot be used twice; a wrong one increments the count."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        return Verification(None)
    if is_locked(device):
        return Verification(None, locked=True)
    if device.verify_token(token):
        return Verification(device)
    return Verification(None, locked=is_locked(device))


def pending_key(session):
    """The secret offered on the enrolment page, kept in the session until confirmed (no row is
    written before the user proves the phone holds it)."""
    key = session.get(SESSION_PENDING_KEY)
    if not key:
        key = session[SESSION_PENDING_KEY] = random_hex(20)
    return key


def secret_base32(key):
    """The secret as an authenticator app asks for it when typed by hand, in groups of four."""
    text = b32encode(unhexlify(key)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(user, key):
    """The ``otpauth://`` address of ``key`` as an inline SVG QR code (no image request, no style)."""
    url = TOTPDevice(user=user, key=key).config_url
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return re.sub(
        r'<svg width="[^"]*" height="[^"]*"',
        '<svg width="264" height="264" role="img" aria-label="两步验证二维码" class="otp-qr"',
        svg,
        count=1,
    )


@transaction.atomic
def otp_enrol(*, user, key, token):
    """Confirm the secret ``key`` with a current ``token``; returns the new confirmed device, or
    None for a wrong code (nothing is written then).

    Side effects: replaces any earlier device of ``user`` (one device per user); the new device
    records the code's time step, so the same code cannot sign in again."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    device = TOTPDevice(user=user, key=key, name=DEVICE_NAME, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    try:
        code = int(token)
    except ValueError:
        return None
    if not totp.verify(code, device.tolerance):
        return None
    device.last_t = totp.t()
    TOTPDevice.objects.filter(user=user).delete()
    device.save()
    return device


def otp_remove(*, user):
    """Remove ``user``'s device (only for someone not required to have one; the caller checks).

    Side effects: deletes every TOTP device of ``user``."""
    TOTPDevice.objects.filter(user=user).delete()
