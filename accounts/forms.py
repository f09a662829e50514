from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UsernameField

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


class UserAddForm(forms.ModelForm):
    """The admin's add-user form: a username and who it is, never a password. The account gets no
    usable password; its owner sets one with an activation code (accounts/activation.py, asked for
    by ``UserAdmin.save_related``). For ``UserAdmin.add_form``."""

    class Meta:
        model = User
        fields = ("username",)
        field_classes = {"username": UsernameField}

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("该用户名已被使用，请换一个。")
        return username

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
            self.save_m2m()
        return user


class ActivationRequestForm(forms.Form):
    replace = forms.BooleanField(
        label="作废原激活码并重新申请",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    reason = forms.CharField(
        label="原因",
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "如：忘记密码、更换手机"}),
        error_messages={"required": "请填写原因（如：忘记密码、更换手机）。"},
    )


def _code_input(label):
    return forms.CharField(
        label=label,
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "autocapitalize": "characters",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "XXXX-XXXX",
            }
        ),
        error_messages={"required": f"请输入{label}。"},
    )


class ActivationUseForm(forms.Form):
    """The owner's 账号激活 page: username, both halves of the code, a new password twice."""

    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(
            attrs={"class": "form-control", "autocapitalize": "none", "autocomplete": "username"}
        ),
        error_messages={"required": "请输入用户名。"},
    )
    first_half = _code_input("激活码第一段（系统管理员提供）")
    second_half = _code_input("激活码第二段（安全管理员提供）")
    new_password1 = forms.CharField(
        label="新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
        error_messages={"required": "请输入新密码。"},
    )
    new_password2 = forms.CharField(
        label="再次输入新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
        error_messages={"required": "请再次输入新密码。"},
    )

    def clean(self):
        cleaned = super().clean()
        one, two = cleaned.get("new_password1"), cleaned.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", "两次输入的新密码不一致。")
        return cleaned


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
