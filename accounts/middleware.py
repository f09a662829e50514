"""The session guard: what a signed-in request must satisfy before it reaches any view.

In order, for an authenticated user:

1. the session's epoch is the user's current one (else another session logged out or changed
   the password: this one ends);
2. the session is younger than ``settings.SESSION_ABSOLUTE_SECONDS`` (else it ends, active or not);
3. the second factor (``accounts.otp``): a user who has a confirmed device, or must have one,
   goes to the code page (or the enrolment page) until this session is verified;
4. a user whose password an administrator set goes to the password-change page, which says
   首次登录请先修改初始密码.

The pages that let a user satisfy a step (and logout) stay reachable; static files never reach
this middleware (WhiteNoise answers them first) and are let through in any case.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts import auth, otp

MESSAGE_OTHER_SESSION_ENDED = "您已在其他地方退出登录或修改了密码，请重新登录。"
MESSAGE_TOO_OLD = "登录已超过最长时限，请重新登录。"


class SessionGuardMiddleware:
    """Install after AuthenticationMiddleware, django-otp's OTPMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(self._static()):
            response = self.guard(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    @staticmethod
    def _static():
        return "/" + settings.STATIC_URL.lstrip("/")

    def guard(self, request, user):
        session = request.session
        if not auth.session_is_stamped(session):
            # Signed in some other way than our login page (the admin's login form, a test's
            # force_login): the session starts counting now.
            auth.session_stamp(request, user)
        elif not auth.session_is_current(session, user):
            return _end(request, MESSAGE_OTHER_SESSION_ENDED)
        elif auth.session_is_too_old(session):
            return _end(request, MESSAGE_TOO_OLD)

        path = request.path
        always = {reverse("logout"), reverse("admin:logout")}
        if not user.is_verified():
            # One indexed query per request of an unverified user (a verified one costs
            # django-otp's device lookup instead): a device enrolled in another session counts
            # at once.
            device = otp.confirmed_device(user)
            if device is not None or otp.otp_required(user):
                target = reverse("otp_verify") if device else reverse("otp_enrol")
                if path in always | {reverse("otp_verify"), reverse("otp_enrol")}:
                    return None
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return _redirect(request, target)

        if user.must_change_password and path not in always | {reverse("password_change")}:
            # The page itself says why (templates/accounts/password_change.html), once.
            return _redirect(request, reverse("password_change"))
        return None


def _end(request, message):
    logout(request)
    messages.warning(request, message)
    return _redirect(request, reverse(settings.LOGIN_URL))


def _redirect(request, url):
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
