from django import forms
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordChangeForm,
)

from accounts import auth
from accounts.models import User


class LoginForm(AuthenticationForm):
    """Django's login form with the phone-friendly attributes a cadre's browser needs."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "用户名"
        self.fields["username"].widget.attrs.update(
            {"class": "form-control", "autocapitalize": "none", "autocomplete": "username"}
        )
        self.fields["password"].label = "密码"
        self.fields["password"].widget.attrs.update({"class": "form-control"})


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form, saving only the password column: a full save would write back a stale
    ``session_epoch`` read at the start of the request."""

    def save(self, commit=True):
        self.user.set_password(self.cleaned_data["new_password1"])
        if commit:
            self.user.save(update_fields=["password"])
        return self.user


class UserAddForm(AdminUserCreationForm):
    """The admin's add-user form: an account created with a password must change it at first login
    (``accounts.auth.password_set_by_admin``). For ``UserAdmin.add_form``."""

    class Meta(AdminUserCreationForm.Meta):
        model = User

    def save(self, commit=True):
        user = super().save(commit=False)
        if user.has_usable_password():
            auth.password_set_by_admin(user)
        if commit:
            user.save()
            self.save_m2m()
        return user


class AdminPasswordResetForm(AdminPasswordChangeForm):
    """The admin's set-password form: after a reset by an administrator the user must choose a new
    password at the next login, and every session of the user ends. For
    ``UserAdmin.change_password_form``."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit and user.has_usable_password():
            auth.password_set_by_admin(user)
        return user


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label="验证码",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg",
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
            }
        ),
        error_messages={"required": "请输入手机验证器上显示的 6 位数字。"},
    )

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not (token.isascii() and token.isdigit() and len(token) == 6):
            raise forms.ValidationError("请输入手机验证器上显示的 6 位数字。")
        return token
