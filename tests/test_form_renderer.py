"""The form renderer (config/renderers.py): widgets built in Python give, to the byte, the HTML
Django's own widget templates give, for every field of the project's form pages and for the
awkward cases (escaping, safe strings, optgroups, several selected, callables, other templates)."""

import re
from datetime import date

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.urls import reverse, reverse_lazy
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from accounts.models import Role
from accounts.services import role_permissions_apply
from config.renderers import FormRenderer
from registry.models import Region
from tests.factories import ChildFactory, UserFactory, child_post_data

A = "410922100201"
STOCK = "django.forms.renderers.DjangoTemplates"


def _without_csrf(body):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', body)


def _both_ways(client, settings, method, url, data=None):
    """The page rendered with the project's renderer and with Django's stock one."""
    send = client.post if method == "POST" else client.get
    ours = send(url, data) if data is not None else send(url)
    settings.FORM_RENDERER = STOCK
    stock = send(url, data) if data is not None else send(url)
    assert (ours.status_code, stock.status_code) == (200, 200)
    return _without_csrf(ours.content.decode()), _without_csrf(stock.content.decode())


def test_form_renderer_is_the_default():
    assert type(get_default_renderer()) is FormRenderer


@pytest.mark.parametrize("slug", ["children", "women", "elders"])
def test_form_renderer_new_record_page_same_as_django_templates(client, cast, settings, slug):
    client.force_login(cast["cadre_a"])
    ours, stock = _both_ways(client, settings, "GET", reverse("record_create", kwargs={"kind": slug}))
    assert ours == stock


def test_form_renderer_edit_page_same_as_django_templates(client, cast, tree, settings):
    child = ChildFactory(
        village=tree[A],
        name='王<b>"小明"</b>',
        assistance=["dibao", "medical"],
        note="第一行\n</textarea><script>x</script>",
        boarding=True,
    )
    client.force_login(cast["cadre_a"])
    url = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    ours, stock = _both_ways(client, settings, "GET", url)
    assert ours == stock
    assert "&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;</textarea>" in ours
    assert re.search(r'<option value="[^"]+" selected>', ours)


def test_form_renderer_form_with_errors_same_as_django_templates(client, cast, tree, settings):
    client.force_login(cast["cadre_a"])
    data = child_post_data(tree[A], id_number="12345", ethnicity="<i>汉族</i>", needs='"引号" & <尖括号>')
    ours, stock = _both_ways(
        client, settings, "POST", reverse("record_create", kwargs={"kind": "children"}), data
    )
    assert ours == stock
    assert 'value="12345"' in ours


@pytest.mark.parametrize(
    "url",
    [reverse_lazy("record_list", kwargs={"kind": "children"}), reverse_lazy("password_change")],
    ids=["list filters", "password change"],
)
def test_form_renderer_other_form_pages_same_as_django_templates(client, cast, settings, url):
    client.force_login(cast["county"])
    ours, stock = _both_ways(client, settings, "GET", f"{url}?q=%3Cb%3E&status=active")
    assert ours == stock


def test_form_renderer_login_page_same_as_django_templates(client, db, settings):
    ours, stock = _both_ways(client, settings, "GET", reverse("login"))
    assert ours == stock


def test_form_renderer_status_page_same_as_django_templates(client, cast, tree, settings):
    child = ChildFactory(village=tree[A])
    client.force_login(cast["cadre_a"])
    ours, stock = _both_ways(
        client, settings, "GET", reverse("record_status", kwargs={"kind": "children", "pk": child.pk})
    )
    assert ours == stock


@pytest.mark.parametrize("page", ["admin:accounts_user_add", "admin:registry_region_add"])
def test_form_renderer_admin_add_page_same_as_django_templates(client, db, settings, page):
    user = UserFactory(username="sys", role=Role.SYSADMIN, region=None)
    role_permissions_apply(user=user)
    client.force_login(user)
    ours, stock = _both_ways(client, settings, "GET", reverse(page))
    assert ours == stock


_lazy_text = lazy(lambda text: text, str)


class _Everything(forms.Form):
    choice = forms.ChoiceField(choices=[("a", "<b>A&B</b>"), ("b", "B")], initial="b")
    grouped = forms.ChoiceField(
        choices=[("", "---"), ("县<1>", [("x", "甲"), ("y", mark_safe("<em>乙</em>"))]), ("z", 3)],
        initial="y",
        widget=forms.Select(
            attrs={"class": "form-select", "data-x": '"q"', "hidden": False, "required": True}
        ),
    )
    many = forms.MultipleChoiceField(choices=[(1, "一"), (2, "二"), (3, "三")], initial=[1, 3])
    maybe = forms.NullBooleanField(initial=True)
    radio = forms.ChoiceField(choices=[("r", "R&D"), ("s", "S")], widget=forms.RadioSelect, initial="s")
    boxes = forms.MultipleChoiceField(
        choices=[("p", "<P>"), ("q", "Q")], widget=forms.CheckboxSelectMultiple, initial=["q"]
    )
    text = forms.CharField(initial='a "quoted" <value> & more', max_length=20)
    safe_text = forms.CharField(initial=mark_safe("<b>已转义</b>"))
    lazy_attr = forms.CharField(widget=forms.TextInput(attrs={"placeholder": _lazy_text("请填<写>")}))
    number = forms.IntegerField(initial=0, widget=forms.NumberInput(attrs={"step": 1, "min": 0}))
    decimal = forms.DecimalField(initial=1234.5)
    empty_text = forms.CharField(required=False)
    area = forms.CharField(widget=forms.Textarea, initial="</textarea><script>1</script>")
    empty_area = forms.CharField(widget=forms.Textarea, required=False)
    tick = forms.BooleanField(initial=True)
    untick = forms.BooleanField(required=False)
    day = forms.DateField(initial=date(2022, 7, 31), widget=forms.DateInput(attrs={"type": "date"}))
    hidden = forms.IntegerField(widget=forms.HiddenInput, initial=7)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="p&w")
    mail = forms.EmailField(initial="a@b.cn")
    site = forms.URLField(initial="https://x.cn/?a=1&b=2", assume_scheme="https")
    off = forms.CharField(disabled=True, initial="只读")
    called = forms.CharField(widget=forms.TextInput(attrs={"data-f": lambda: "called"}))
    region = forms.ModelChoiceField(queryset=Region.objects.order_by("code"), required=False)


def _renderings(data=None, *, renderer):
    form = _Everything(data, renderer=renderer, auto_id="id_%s")
    rendered = {}
    for field in form:
        rendered[field.name] = str(field)
        if field.widget_type in ("select", "selectmultiple", "radioselect", "checkboxselectmultiple"):
            rendered[field.name + " options"] = [option.tag() for option in field]
            rendered[field.name + " wrapped"] = [str(option) for option in field]
    return rendered


@pytest.mark.parametrize(
    "data",
    [None, {"choice": "a", "many": ["2"], "text": "<x>", "area": "", "maybe": "false", "boxes": ["p", "q"]}],
    ids=["unbound", "bound"],
)
def test_form_renderer_every_widget_same_as_django_templates(tree, data):
    ours = _renderings(data, renderer=FormRenderer())
    stock = _renderings(data, renderer=DjangoTemplates())
    assert ours.keys() == stock.keys()
    for name in ours:
        assert (name, ours[name]) == (name, stock[name])


def test_form_renderer_select_marks_the_chosen_option_and_escapes_labels():
    form = _Everything(renderer=FormRenderer())
    assert str(form["choice"]) == (
        '<select name="choice" id="id_choice">\n'
        '  <option value="a">&lt;b&gt;A&amp;B&lt;/b&gt;</option>\n\n'
        '  <option value="b" selected>B</option>\n\n'
        "</select>"
    )


def test_form_renderer_builds_the_common_widgets_without_templates(tree, monkeypatch):
    """Without the Python builders, these widgets would load their templates."""
    renderer = FormRenderer()

    def refuse(template_name):
        raise AssertionError(f"template loaded: {template_name}")

    monkeypatch.setattr(renderer, "get_template", refuse)
    form = _Everything(renderer=renderer)
    for name in "choice grouped many maybe text number area tick day hidden region".split():
        assert str(form[name]).startswith(("<select", "<input", "<textarea"))
    assert [option.tag() for option in form["boxes"]] == [
        '<input type="checkbox" name="boxes" value="p" id="id_boxes_0">',
        '<input type="checkbox" name="boxes" value="q" id="id_boxes_1" checked>',
    ]
