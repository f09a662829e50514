"""The form renderer (settings.FORM_RENDERER): Django's own, with its commonest widget templates
written out in Python.

Django renders each widget through a template that includes others (input.html, attrs.html), and
a ``<select>`` with two more includes per ``<option>``: the child's form, 40 fields and some 60
options, took about 240 includes, half the page's CPU time (bench/page_cpu.py: 19 → 8 ms). The
templates below are built here instead, to the byte what Django's templates give for the same
context (tests/test_form_renderer.py renders every field of every form both ways and compares):
the same escaping (``render_value_in_context``, ``conditional_escape``), the same localisation,
the same ``stringformat:'s'``, the same whitespace.

Only the stock templates of django/forms/templates named in ``_BUILDERS`` are built here; any
other template, and any widget whose context holds something those templates would treat in a
way this code does not copy (a callable value, which a template calls; an option of another
template; an attribute named ``items``), goes through the templates as before.
"""

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.html import escape
from django.utils.safestring import SafeData, mark_safe

WIDGETS = "django/forms/widgets/"
SELECT_OPTION = WIDGETS + "select_option.html"
# One context as the forms engine makes them: autoescape on, localisation and time zone unset.
_CONTEXT = Context()


class UseTemplate(Exception):
    """This widget's context is one the templates must render."""


def _value(value):
    """A value as a template variable resolves it; a callable (which a template calls) is left
    to the template."""
    if callable(value):
        raise UseTemplate
    return value


def _text(value):
    """``{{ value }}``."""
    if type(value) is str:  # what render_value_in_context does with a plain str, in short
        return escape(value)
    return render_value_in_context(_value(value), _CONTEXT)


def _formatted(value):
    """``{{ value|stringformat:'s' }}`` (a safe input stays safe, as for any is_safe filter)."""
    value = _value(value)
    text = stringformat(value, "s")
    return _text(mark_safe(text) if isinstance(value, SafeData) else text)


def _attrs(attrs):
    """django/forms/widgets/attrs.html."""
    if "items" in attrs:  # ``attrs.items`` would look that key up, not the method
        raise UseTemplate
    parts = []
    for name, value in attrs.items():
        value = _value(value)
        if value is not False:
            parts.append(" " + _text(name))
            if value is not True:
                parts.append('="' + _formatted(value) + '"')
    return "".join(parts)


def _input(widget):
    """django/forms/widgets/input.html, with its newline."""
    value = _value(widget["value"])
    shown = ' value="' + _formatted(value) + '"' if value != None else ""  # noqa: E711 (the template's !=)
    return (
        '<input type="' + _text(widget["type"]) + '" name="' + _text(widget["name"]) + '"'
        + shown + _attrs(widget["attrs"]) + ">\n"
    )  # fmt: skip


def _input_option(widget):
    """django/forms/widgets/input_option.html, with its newline."""
    wrap = _value(widget["wrap_label"])
    html = ""
    if wrap:
        label_for = _value(widget["attrs"].get("id"))
        html = "<label" + (' for="' + _text(label_for) + '"' if label_for else "") + ">"
    html += _input(widget)
    if wrap:
        html += " " + _text(widget["label"]) + "</label>"
    return html + "\n"


def _option(widget):
    """django/forms/widgets/select_option.html, with its newline."""
    return (
        '<option value="' + _formatted(widget["value"]) + '"' + _attrs(widget["attrs"]) + ">"
        + _text(widget["label"]) + "</option>\n"
    )  # fmt: skip


def _select(widget):
    """django/forms/widgets/select.html, with its newline."""
    parts = ['<select name="', _text(widget["name"]), '"', _attrs(widget["attrs"]), ">"]
    for group_name, group_choices, _ in _value(widget["optgroups"]):
        group_name = _value(group_name)
        if group_name:
            parts += ['\n  <optgroup label="', _text(group_name), '">']
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION:
                raise UseTemplate
            parts += ["\n  ", _option(option)]
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _textarea(widget):
    """django/forms/widgets/textarea.html, with its newline."""
    value = _value(widget["value"])
    return (
        '<textarea name="' + _text(widget["name"]) + '"' + _attrs(widget["attrs"]) + ">\n"
        + (_text(value) if value else "") + "</textarea>\n"
    )  # fmt: skip


_INPUTS = ("text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search")
_BUILDERS = {
    **{f"{WIDGETS}{name}.html": _input for name in (*_INPUTS, "tel", "color", "checkbox")},
    WIDGETS + "checkbox_option.html": _input_option,
    WIDGETS + "radio_option.html": _input_option,
    SELECT_OPTION: _option,
    WIDGETS + "select.html": _select,
    WIDGETS + "textarea.html": _textarea,
}


class FormRenderer(DjangoTemplates):
    """Django's default renderer (templates of django/forms and the apps), the widgets of
    ``_BUILDERS`` built in Python."""

    def render(self, template_name, context, request=None):
        build = _BUILDERS.get(template_name)
        widget = context.get("widget") if build else None
        if isinstance(widget, dict):
            try:
                return build(widget).strip()
            except (UseTemplate, KeyError):  # a context the templates know better
                pass
        return super().render(template_name, context, request=request)
