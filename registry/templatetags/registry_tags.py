from django import template

from registry.records import display_value, mask_personal

register = template.Library()


@register.filter
def id_number(value, masked):
    """An ID number, masked server-side for a member-unit liaison: 410922********1234."""
    return mask_personal("id_number", value) if masked else value


@register.filter
def phone(value, masked):
    """A phone number, masked server-side for a member-unit liaison: 138****5678."""
    return mask_personal("phone", value) if masked else value


@register.filter
def birth_date(value, masked):
    """A birth date; only its year for a member-unit liaison (see records.mask_personal)."""
    if masked:
        return mask_personal("birth_date", value)
    return value.strftime("%Y-%m-%d") if value else value


@register.simple_tag
def field_display(record, name, masked):
    """(label, value) of a record field for display: choice labels, 是/否, masking for a liaison."""
    field = record._meta.get_field(name)
    value = getattr(record, name)
    if name == "birth_date":
        value = birth_date(value, masked)
    elif name == "village":
        value = value.name
    elif masked and not field.choices and not isinstance(value, bool | list):
        value = mask_personal(name, value)
    else:
        value = display_value(field, value)
    return field.verbose_name, value
