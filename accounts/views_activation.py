"""Activation codes (accounts/activation.py): asked for by the system administrator, confirmed by the
security administrator, used by the account's owner on the public 账号激活 page."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import activation as codes
from accounts import auth, otp, policy
from accounts.forms import ActivationRequestForm, ActivationUseForm
from accounts.models import OPEN_ACTIVATION_STATES, AccountActivation, ActivationKind, User

RECENT = 30


def _activation_for(user, pk):
    """The activation ``pk`` and what ``user`` may do with it; 404 for anyone but the administrators."""
    if not policy.can_see_activations(user):
        raise Http404
    found = get_object_or_404(
        AccountActivation.objects.select_related("user", "requested_by", "confirmed_by"), pk=pk
    )
    rights = {
        "confirm": codes.may(found, "confirm") and policy.can_confirm_activation(user, found),
        "cancel": codes.may(found, "cancel") and policy.can_cancel_activation(user, found),
    }
    return found, rights


@require_GET
@login_required
def activation_list(request):
    user = request.user
    if not policy.can_see_activations(user):
        raise Http404
    related = AccountActivation.objects.select_related("user", "requested_by", "confirmed_by")
    open_ones = list(related.filter(state__in=OPEN_ACTIVATION_STATES))
    for item in open_ones:
        item.may_confirm = codes.may(item, "confirm") and policy.can_confirm_activation(user, item)
    context = {
        "open": open_ones,
        "ended": related.exclude(state__in=OPEN_ACTIVATION_STATES)[:RECENT],
        "is_security_admin": policy.is_security_admin(user),
        "now": timezone.now(),
    }
    return render(request, "accounts/activation_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def activation_request(request, pk):
    """The system administrator asks for a reset code for an account (the admin's 重置密码 button)."""
    account = get_object_or_404(User, pk=pk)
    if not policy.can_request_activation(request.user, account):
        raise Http404
    form = ActivationRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            asked, half = codes.activation_request(
                account=account,
                requested_by=request.user,
                kind=ActivationKind.RESET,
                reason=form.cleaned_data["reason"],
                replace=form.cleaned_data["replace"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            codes.remember_half(request, asked, half)
            return redirect("activation_detail", pk=asked.pk)
    open_one = account.activations.filter(state__in=OPEN_ACTIVATION_STATES).first()
    context = {"account": account, "form": form, "open_one": open_one}
    return render(request, "accounts/activation_request.html", context)


@never_cache
@require_GET
@login_required
def activation_detail(request, pk):
    found, rights = _activation_for(request.user, pk)
    half = codes.take_half(request, found)
    context = {
        "activation": found,
        "rights": rights,
        "half": codes.format_half(half) if half else None,
        "half_is_first": found.requested_by_id == request.user.pk,
        "expired": codes.is_expired(found),
    }
    return render(request, "accounts/activation_detail.html", context)


@require_POST
@login_required
def activation_confirm(request, pk):
    found, rights = _activation_for(request.user, pk)
    try:
        found, half = codes.activation_confirm(activation=found, confirmed_by=request.user)
    except PermissionDenied:
        messages.error(request, "您不能确认这个激活码：确认人须是安全管理员，且不是申请人或账号本人。")
        return redirect("activation_detail", pk=pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("activation_detail", pk=pk)
    codes.remember_half(request, found, half)
    return redirect("activation_detail", pk=pk)


@require_POST
@login_required
def activation_cancel(request, pk):
    found, rights = _activation_for(request.user, pk)
    try:
        codes.activation_cancel(activation=found, by=request.user, reason=request.POST.get("reason", ""))
    except PermissionDenied:
        messages.error(request, "您不能撤销这个激活码。")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "激活码已作废。")
    return redirect("activation_detail", pk=pk)


@never_cache
@require_http_methods(["GET", "POST"])
def activate(request):
    """The owner's page: both halves of the code and a new password; then signed in, and on to
    the second factor's enrolment where the role needs one."""
    if request.user.is_authenticated:
        messages.info(request, "您已登录。如需为其他账号激活，请先退出。")
        return redirect("home")
    form = ActivationUseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = codes.activation_use(
                username=data["username"],
                first_half=data["first_half"],
                second_half=data["second_half"],
                password=data["new_password1"],
            )
        except ValidationError as exc:
            field = "new_password1" if exc.messages != [codes.WRONG_CODE] else None
            form.add_error(field, exc)
        else:
            login(request, account, backend="django.contrib.auth.backends.ModelBackend")
            auth.session_stamp(request, account)
            request.session[codes.SESSION_ACTIVATED_KEY] = True
            text = "账号已激活，新密码已生效；您其他地方的登录已全部退出。"
            if otp.otp_required(account):
                text += "您的账号必须使用两步验证：请现在用手机验证器扫码绑定。"
            messages.success(request, text)
            return redirect("home")
    return render(request, "accounts/activate.html", {"form": form})
