"""What of a person may reach the audit log: nothing. The two masks every event passes through.

- :func:`redact` masks anything shaped like a resident ID or a phone number in free text, however
  it was typed: with spaces or dashes between the digits (``410922 20220201 5403``,
  ``138-0013-8000``), in full-width digits, or next to other numbers. The digits are cleaned by
  the registry's own normaliser (``registry.rules.normalize_id_number``: full-width to ASCII,
  whitespace and zero-width characters gone), the one the entry form and the import use.
- :func:`search_detail` is how a search is written: 「查询记录（N 条结果）」, then each filter by its
  Chinese label and a choice by its label; a free-text term (a name, an ID number, anything
  typed) is never written, only ``***`` and whether it was a number or words.

Written on the way in by ``audit.services.audit_record`` and again on the way out by
``audit.display`` (the page and the export), for events stored before these rules.
"""

import re

from django import forms

from registry.rules import normalize_id_number

MASK = "***"

# Resident IDs (18 characters, or 15 digits for the old ones), mainland mobiles, and landlines
# with their area code (0393-1234567, the dash already gone), matched on cleaned digits.
_SENSITIVE = re.compile(r"[0-9]{17}[0-9X]|1[3-9][0-9]{9}|0[0-9]{2,3}[0-9]{7,8}|[0-9]{15}")
# Digits typed in groups (410922 20150305 1234, 138-0013-8000, 0393 8881234) are joined only
# into a whole that reads as one: an ID with a birth date in it, a mobile, an area code and its
# number. Dates and counts beside each other (2022-09-01 3) do not join into a "number".
_JOINED_ID = re.compile(r"[0-9]{6}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_AREA_CODE, _LOCAL_NUMBER = re.compile(r"0[0-9]{2,3}"), re.compile(r"[0-9]{7,8}")
# The longest text _SENSITIVE can match.
_LONGEST = 18
# Between the digits of a number people type spaces (any width), dashes and zero-width characters.
_SEPARATOR = r"[+\s\u200b\u200c\u200d\u2060\ufeff\-\u2010-\u2015\uff0d\u2212]"
# A run of digit groups joined by separators; \d is any Unicode digit, full-width ones included.
# An ID's check character X may end a group.
_RUN = re.compile(rf"\d+[Xx\uff38\uff58]?(?:{_SEPARATOR}+\d+[Xx\uff38\uff58]?)*")
_GROUP = re.compile(r"\d+[Xx\uff38\uff58]?")


def _sensitive(groups):
    """Whether the cleaned digit ``groups``, typed one after another, are one ID or phone number."""
    digits = "".join(groups)
    if digits.endswith("X") and len(digits) < 18:
        digits = digits[:-1]  # 13800138000x: the letter is no part of a phone number
    if len(groups) == 1:
        return _SENSITIVE.fullmatch(digits) is not None
    if len(groups) == 2 and _AREA_CODE.fullmatch(groups[0]) and _LOCAL_NUMBER.fullmatch(groups[1]):
        return True
    return bool(_JOINED_ID.fullmatch(digits) or _MOBILE.fullmatch(digits))


def _mask_run(match):
    """The run with every span of consecutive groups that spells an ID or phone starred out."""
    run = match.group()
    groups = [(g.start(), g.end(), normalize_id_number(g.group())) for g in _GROUP.finditer(run)]
    hidden = [False] * len(run)
    for i, (start, _, _) in enumerate(groups):
        length = 0
        for j in range(i, len(groups)):
            length += len(groups[j][2])
            if length > _LONGEST:
                break
            if _sensitive([digits for _, _, digits in groups[i : j + 1]]):
                hidden[start : groups[j][1]] = [True] * (groups[j][1] - start)
    if not any(hidden):
        return run
    return "".join("*" if hide else ch for ch, hide in zip(run, hidden, strict=True))


def redact(text):
    """``text`` with anything shaped like an ID or phone number replaced by asterisks, one per
    character, separators between its digits included; region codes and dates stay readable."""
    return _RUN.sub(_mask_run, str(text or ""))


def _term(value):
    """A free-text term as the log keeps it: never the term, only whether it was a number."""
    cleaned = normalize_id_number(value).replace("-", "")
    return f"{MASK}（号码）" if len(cleaned) >= 6 and cleaned.rstrip("X").isdigit() else MASK


def _choice_labels(choices):
    """{value: label} of a form field's choices, groups flattened, values as the request has them."""
    labels = {}
    for value, label in choices:
        if isinstance(label, list | tuple):
            labels.update((str(v), str(lab)) for v, lab in label)
        else:
            labels[str(value)] = str(label)
    return labels


def _shown(field, raw, chosen):
    """One filter's value as the auditor may read it, or None for a value that is no filter."""
    if isinstance(field, forms.ModelChoiceField):
        # The chosen object's name (a region), from the bound form; a stored pk otherwise.
        return redact(chosen) if chosen is not None else f"编号 {raw}" if raw.isdigit() else "（无效）"
    if isinstance(field, forms.ChoiceField):
        return str(_choice_labels(field.choices).get(raw, "（无效）"))
    if isinstance(field, forms.DateField):
        return raw if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else "（无效）"
    if isinstance(field, forms.BooleanField):
        return "是"
    return _term(raw)


def search_terms(fields, data, *, chosen=None):
    """``[(label, shown)]`` for each of ``fields`` (a form's fields) given a value in ``data``
    (a QueryDict or dict of the request's parameters), in the form's order. Parameters that are
    no field of the form are left out: only what the form knows is described, never echoed.
    ``chosen`` maps a model-choice field's name to the chosen object's name."""
    chosen = chosen or {}
    terms = []
    for name, field in fields.items():
        raw = str(data.get(name) or "").strip()
        if raw:
            terms.append((str(field.label), _shown(field, raw, chosen.get(name))))
    return terms


def search_detail(*, heading, results=None, fields=None, data=None, chosen=None, page=None):
    """The detail of a search or export event: ``heading（N 条结果）；label：value；…；第 K 页``.

    ``fields`` and ``data`` are the filter form's fields and the request's parameters (see
    :func:`search_terms`); ``page`` the page number shown, written from page 2 on."""
    text = heading if results is None else f"{heading}（{results} 条结果）"
    parts = [f"{label}：{shown}" for label, shown in search_terms(fields or {}, data or {}, chosen=chosen)]
    if page is not None and page > 1:
        parts.append(f"第 {page} 页")
    return "；".join([text, *parts])
