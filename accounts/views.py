from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import activation, auth, otp, policy
from accounts.forms import LoginForm, OTPTokenForm, OwnPasswordChangeForm
from accounts.models import Organisation, Role, User
from care import home as care_home
from registry import home as registry_home
from registry.models import Region, RegionLevel
from survey import home as survey_home


@require_GET
@login_required
def home(request):
    """Each role's own home page: its scope and, as features land, what waits for it."""
    user = request.user
    context = {"role": user.role, "Role": Role}
    if policy.is_system_admin(user):
        context["totals"] = {
            "users": User.objects.count(),
            "organisations": Organisation.objects.count(),
            "regions": Region.objects.count(),
            "villages": Region.objects.at_level(RegionLevel.VILLAGE).count(),
        }
    elif policy.is_security_admin(user) or policy.is_audit_admin(user):
        # No region, no records: the page names the duty and links to where it is done.
        context["admin_duty"] = user.role
    else:
        # Each app says what this user should see first; the home page only composes.
        context.update(registry_home.home_context(user))
        context.update(survey_home.home_context(user))
        context.update(care_home.home_context(user))
    if policy.can_see_activations(user):
        context["activations_waiting"] = activation.waiting_count(user=user)
    return render(request, "accounts/home.html", context)


class LoginView(auth_views.LoginView):
    """Django's login page; the new session records the user's epoch and the time of login."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        auth.session_stamp(self.request, user)
        for notice in activation.notices_for_owner(user=user):
            messages.warning(self.request, notice)
        return response


class LogoutView(auth_views.LogoutView):
    """Logging out ends every session of the user, not only this one."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            auth.sessions_end_all(user=request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing one's password ends every other session and clears the first-login flag."""

    template_name = "accounts/password_change.html"
    form_class = OwnPasswordChangeForm

    def form_valid(self, form):
        form.save()
        auth.password_changed(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())


def _next_url(request):
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("home")


def _locked_message():
    return (
        f"验证码连续输错 {settings.OTP_FAILURE_LIMIT} 次，两步验证已暂时锁定。"
        f"请 {otp.lock_minutes()} 分钟后再试，或联系系统管理员。"
    )


@require_http_methods(["GET", "POST"])
@login_required
def otp_verify(request):
    """The code from the phone, after the password, for a user who has a device."""
    user, next_url = request.user, _next_url(request)
    if user.is_verified():
        return redirect(next_url)
    device = otp.confirmed_device(user)
    if device is None:
        return redirect(reverse("otp_enrol") + "?" + urlencode({"next": next_url}))
    form = OTPTokenForm(request.POST or None)
    status = 200
    if otp.is_locked(device):
        status = 429
    if request.method == "POST" and form.is_valid():
        result = otp.otp_verify(user=user, token=form.cleaned_data["token"])
        if result.device is not None:
            django_otp.login(request, result.device)
            return redirect(next_url)
        status = 429 if result.locked else 200
        if not result.locked:
            form.add_error("token", "验证码不正确，请核对手机时间后输入最新的验证码。")
    context = {"form": form, "next": next_url, "locked": status == 429, "locked_message": _locked_message()}
    return render(request, "accounts/otp_verify.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def otp_enrol(request):
    """Set up the phone: scan the QR code (or type the secret), then confirm with a current code."""
    user, next_url = request.user, _next_url(request)
    if otp.confirmed_device(user) is not None:
        if not user.is_verified():
            return redirect(reverse("otp_verify") + "?" + urlencode({"next": next_url}))
        messages.info(request, "两步验证已启用。")
        return redirect("otp_settings")
    if user.must_change_password and not request.session.get(activation.SESSION_ACTIVATED_KEY):
        # The password was set by someone else (an account from before activation codes): whoever
        # knows it must not be the one to bind the phone. Only the owner's activation code may.
        return render(request, "accounts/otp_enrol_refused.html", status=403)
    key = otp.pending_key(request.session)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = otp.otp_enrol(user=user, key=key, token=form.cleaned_data["token"])
        if device is not None:
            request.session.pop(otp.SESSION_PENDING_KEY, None)
            django_otp.login(request, device)
            messages.success(request, "两步验证已启用：以后每次登录都要输入手机验证器上的验证码。")
            return redirect(next_url)
        form.add_error("token", "验证码不正确，请核对手机时间后输入最新的验证码。")
    context = {
        "form": form,
        "next": next_url,
        "required": otp.otp_required(user),
        # Our own SVG, built from a hex key and the username (quoted in the otpauth:// address).
        "qr_svg": mark_safe(otp.qr_svg(user, key)),
        "secret": otp.secret_base32(key),
    }
    return render(request, "accounts/otp_enrol.html", context)


@require_GET
@login_required
def otp_settings(request):
    """The 两步验证 page of the account menu: on or off, and the way to change it."""
    user = request.user
    context = {"device": otp.confirmed_device(user), "required": otp.otp_required(user)}
    return render(request, "accounts/otp_settings.html", context)


@require_POST
@login_required
def otp_remove(request):
    user = request.user
    if otp.otp_required(user):
        messages.error(request, "您的账号必须使用两步验证，不能关闭。更换手机请联系系统管理员。")
        return redirect("otp_settings")
    otp.otp_remove(user=user)
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    messages.success(request, "两步验证已关闭。")
    return redirect("otp_settings")
