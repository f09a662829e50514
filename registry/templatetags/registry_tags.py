from django import template

from registry.records import mask_id_number, mask_phone

register = template.Library()


@register.filter
def id_number(value, masked):
    """An ID number, masked server-side for a member-unit liaison: 410922********1234."""
    return mask_id_number(value) if masked and value else value


@register.filter
def phone(value, masked):
    """A phone number, masked server-side for a member-unit liaison: 138****5678."""
    return mask_phone(value) if masked and value else value


@register.filter
def birth_date(value, masked):
    """A birth date; only its year for a member-unit liaison, whose masked ID number hides the
    rest (the eight masked digits of 410922********1234 are the birth date)."""
    if not value:
        return value
    return f"{value.year}年" if masked else value.strftime("%Y-%m-%d")


@register.simple_tag
def field_display(record, name, masked):
    """(label, value) of a record field for display: choice labels, 是/否, masking of IDs and phones."""
    field = record._meta.get_field(name)
    value = getattr(record, name)
    if name == "assistance":
        value = "、".join(record.assistance_labels())
    elif field.choices:
        value = getattr(record, f"get_{name}_display")()
    elif isinstance(value, bool):
        value = "是" if value else "否"
    elif name == "birth_date":
        value = birth_date(value, masked)
    elif name.endswith("id_number"):
        value = id_number(value, masked)
    elif name.endswith("phone"):
        value = phone(value, masked)
    elif name == "village":
        value = value.name
    return field.verbose_name, value
