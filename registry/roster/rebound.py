"""The import's form: the entry form of a register, rebound to row after row (issue 13: the
import's speed work lives here, not in registry/forms.py, which stays plain Django).

``rebound(ChildForm)`` is the class the pipeline (registry/roster/pipeline.py) judges a roster with:
the same fields, the same clean_<name> hooks, the same rules and the same errors as the entry
page's form, but

- one form serves every row (``rebind``) instead of deep-copying every field per row;
- the villages of the importer's scope and the file's claimed ID numbers are handed in once
  (``villages``: pk → village; ``claimed``: a set), so a row asks the database nothing;
- Django's ``_clean_fields``, ``_post_clean`` and the model's ``full_clean`` are inlined with the
  per-field look-ups worked out once per form, and immutable values' cleans remembered.

tests/test_records_entry.py judges every kind of row both ways and compares the results field by
field; bench/roster_import.py measures the gain (the pipeline's rows per second against a
calamine read plus COPY).
"""

import datetime
import inspect
import operator

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.db.models.query_utils import DeferredAttribute
from django.forms.models import model_to_dict

from registry.models import Region

# A rebound form (the import) remembers a field's cleaned value for values of these types.
MEMO_TYPES = frozenset({str, int, bool, type(None), datetime.date})
REBOUND_MEMO = 2_000  # values remembered per field


def _sets_plain_attribute(model, f):
    """Whether Django's construct_instance sets ``f`` by storing the value under its name in
    the instance's __dict__: Field.save_form_data's setattr, through no descriptor that sets."""
    descriptor = inspect.getattr_static(model, f.name, None)
    return (
        type(f).save_form_data is models.Field.save_form_data
        and f.attname == f.name
        and isinstance(descriptor, DeferredAttribute)
        and not hasattr(descriptor, "__set__")
    )


def _reader(widget, plain):
    """How a rebound form reads the widget's value from data (``plain``: a dict, not a
    QueryDict): None where Django's reading comes to ``data.get(name)`` — a Widget's, a single
    choice's, and from a plain dict a multiple choice's too (it has no getlist) — so that the
    call (and for the last, a caught AttributeError per row) is saved; else the widget's own."""
    read = type(widget).value_from_datadict
    if read is forms.Widget.value_from_datadict or (
        read is forms.widgets.ChoiceWidget.value_from_datadict
        and (plain or not widget.allow_multiple_selected)
    ):
        return None
    return widget.value_from_datadict


class ReboundForm:
    """Mixin over a registry.forms.RecordForm subclass; see the module's docstring."""

    def __init__(self, *args, villages, claimed, **kwargs):
        super().__init__(*args, villages=Region.objects.none(), **kwargs)  # only to_python below is asked
        self.known_villages = villages
        self.fields["village"].to_python = self._known_village
        self.claimed = claimed
        self.rebound = False

    def rebind(self, data, instance=None):
        """This form, bound to another row's ``data`` and ``instance`` (None: a new record), as
        if built anew. The import judges thousands of rows with one form: building one per row
        would deep-copy every field each time. The fields are only set up in __init__, never
        changed by validation, so they carry nothing from one row to the next."""
        if not self.rebound:
            if any(field.disabled for field in self.fields.values()):
                raise TypeError("rebind: _clean_fields reads posted data only, not a disabled field's")
            self._rebind_setup()
        self.rebound = True
        if instance is None:
            self.instance, self.initial = self._blank_instance(), dict(self._blank_initial)
        else:
            self.instance = instance
            self.initial = model_to_dict(instance, self._meta.fields, self._meta.exclude)
        self.data, self.is_bound, self._errors = data, True, None
        self._bound_fields_cache = {}
        self.id_check = None
        self.fields["version"].initial = self.instance.version
        return self

    def _rebind_setup(self):
        """What the rebound form's validation needs of the model, worked out once per form."""
        opts, meta = self._meta.model._meta, self._meta
        # (name, field, its widget's reader (_reader), the data key, the clean_<name> hook, its
        # memo): what _clean_fields asks of every field of every row, looked up once — for data
        # in a QueryDict (False) and in a plain dict (True), the memos shared.
        memos = {name: {} for name in self.fields}  # (type, value) → cleaned value
        self._cleaners = {
            plain: [
                (
                    name,
                    field,
                    _reader(field.widget, plain),
                    self.add_prefix(name),
                    getattr(self, f"clean_{name}", None),
                    memos[name],
                )
                for name, field in self.fields.items()
            ]
            for plain in (False, True)
        }
        # What Model.clean_fields asks of each field, for _model_full_clean: (name, field,
        # blank, the values it takes as empty, {(type, value)} its clean accepted unchanged —
        # None for a relation, never skipped), and its values all at once.
        cleaned_fields = [f for f in opts.fields if not f.generated]
        self._model_clean_fields = [
            (f.name, f, f.blank, f.empty_values, None if f.is_relation else set()) for f in cleaned_fields
        ]
        self._model_values = operator.attrgetter(*(f.attname for f in cleaned_fields))
        self._db_defaults = any(f.has_db_default() for f in cleaned_fields)
        blank = self._meta.model()
        self._blank_initial = model_to_dict(blank, meta.fields, meta.exclude)
        # A new record per row is a copy of this blank one: Model.__init__ asks every field for
        # its default, the copy only the fields whose default is computed anew (a callable).
        # Kept only where nothing listens for a model's __init__ (a signal would miss the copy).
        model = self._meta.model
        self._blank = None
        if not (
            signals.pre_init.has_listeners(model)
            or signals.post_init.has_listeners(model)
            or model.__init__ is not models.Model.__init__
        ):
            self._blank = blank.__dict__
            self._computed_defaults = [
                f for f in opts.concrete_fields if f.has_default() and callable(f.default)
            ]
        self._always_excluded = {
            f.name
            for f in opts.fields
            if f.name not in self.fields
            or (meta.fields and f.name not in meta.fields)
            or (meta.exclude and f.name in meta.exclude)
        }
        self._excluded_when_empty = [
            (f.name, self.fields[f.name])
            for f in opts.fields
            if f.name not in self._always_excluded and not f.blank and not self.fields[f.name].required
        ]
        # What construct_instance sets, for _post_clean: the names of the fields whose cleaned
        # value goes straight into the instance's __dict__ (no default to keep, set by Django's
        # own save_form_data through a plain attribute), and for the others (name, model
        # field, form field, whether it has a default, the data key).
        constructed = [
            f
            for f in opts.fields
            if f.editable
            and not isinstance(f, models.AutoField)
            and (meta.fields is None or f.name in meta.fields)
            and not (meta.exclude and f.name in meta.exclude)
        ]
        if any(isinstance(f, models.FileField) for f in constructed):
            raise TypeError("rebind: _post_clean does not defer file fields as construct_instance does")
        direct = {f for f in constructed if not f.has_default() and _sets_plain_attribute(model, f)}
        self._constructed_direct = [f.name for f in constructed if f in direct]
        self._constructed = [
            (f.name, f, self.fields.get(f.name), f.has_default(), self.add_prefix(f.name))
            for f in constructed
            if f not in direct
        ]

    def _blank_instance(self):
        """A new, unsaved record, as ``Model()`` builds it (see _rebind_setup)."""
        model = self._meta.model
        if self._blank is None:
            return model()
        instance = model.__new__(model)
        instance.__dict__ = self._blank.copy()
        instance._state = ModelState()
        for f in self._computed_defaults:
            instance.__dict__[f.attname] = f.get_default()
        return instance

    def _clean_fields(self):
        """Django's own loop, less the BoundField it builds for every field of every row: for a
        form judging a file row after row (``rebind``), that object costs more than the
        cleaning. Same fields, same clean_<name> hooks, same errors. A form built for a page
        (not rebound) keeps Django's loop."""
        if not self.rebound:
            return super()._clean_fields()
        data, files, cleaned_data = self.data, self.files, self.cleaned_data
        for name, field, read, key, hook, memo in self._cleaners[not hasattr(data, "getlist")]:
            try:
                value = data.get(key) if read is None else read(data, files, key)
                # field.clean(value), remembered for the first REBOUND_MEMO values of each field
                # whose value and result are immutable: a field's clean depends on the value
                # alone, and an import repeats most values (性别, 民族, 监护类型 …) thousands of times.
                if value.__class__ in MEMO_TYPES:
                    cleaned = memo.get((value.__class__, value), memo)
                    if cleaned is memo:
                        cleaned = field.clean(value)
                        if cleaned.__class__ in MEMO_TYPES and len(memo) < REBOUND_MEMO:
                            memo[(value.__class__, value)] = cleaned
                else:
                    cleaned = field.clean(value)
                cleaned_data[name] = cleaned
                if hook is not None:
                    cleaned_data[name] = hook()
            except ValidationError as error:
                self.add_error(name, error)

    def id_number_taken(self, number):
        return number in self.claimed  # IdentityClaim holds every registered number: read once per file

    def _known_village(self, value):
        """The village field's value among ``known_villages``, without a query."""
        field = self.fields["village"]
        if value in field.empty_values:
            return None
        try:
            return self.known_villages[int(getattr(value, "pk", value))]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(field.error_messages["invalid_choice"], code="invalid_choice") from None

    def _get_validation_exclusions(self):
        if self.rebound:
            # Django's rules, the parts that do not depend on the row worked out once.
            exclude = set(self._always_excluded) | (set(self._errors) - {NON_FIELD_ERRORS})
            exclude.update(
                name
                for name, field in self._excluded_when_empty
                if self.cleaned_data.get(name) in field.empty_values
            )
        else:
            exclude = super()._get_validation_exclusions()
        exclude.add("village")  # found among the scope's villages: it exists
        return exclude

    def _post_clean(self):
        """Django's, with construct_instance's loop inlined for a rebound form: it asks a
        BoundField of every field only for its field (``self.fields[name]``), and building those
        costs more than the rest. The same values go onto the instance, the same model
        validation follows."""
        if not self.rebound:
            return super()._post_clean()
        exclude = self._get_validation_exclusions()
        cleaned, data, files, instance = self.cleaned_data, self.data, self.files, self.instance
        instance.__dict__.update(
            {name: cleaned[name] for name in self._constructed_direct if name in cleaned}
        )
        for name, f, field, has_default, key in self._constructed:
            if name not in cleaned:
                continue
            value = cleaned[name]
            # A field with a default left out of the data keeps the default (not a checkbox's).
            if (
                has_default
                and value in field.empty_values
                and field.widget.value_omitted_from_data(data, files, key)
            ):
                continue
            f.save_form_data(instance, value)
        self._model_full_clean(exclude)
        if self._validate_unique:
            self.validate_unique()

    def _model_full_clean(self, exclude):
        """``instance.full_clean(exclude, validate_unique=False)``, less the model field cleans
        already seen to pass: a non-relational field whose value (of an immutable type) an
        earlier row's model validation accepted unchanged is not cleaned again. Model.clean_fields'
        loop is inlined to look at each field once; the model's clean() and its constraints run
        for every row, as in Model.full_clean."""
        instance = self.instance
        errors, fresh = {}, []
        db_defaults = self._db_defaults
        for (name, f, blank, empty, accepted), raw in zip(
            self._model_clean_fields, self._model_values(instance), strict=True
        ):
            if name in exclude:
                continue
            # Model.clean_fields: blank values of blank fields, and database defaults, pass
            # (every empty value is falsy: a truthy one is not looked for among them).
            if blank and not raw and raw in empty or db_defaults and isinstance(raw, DatabaseDefault):
                continue
            key = None
            if accepted is not None and raw.__class__ in MEMO_TYPES:
                key = (raw.__class__, raw)
                if key in accepted:
                    continue
            try:
                value = f.clean(raw, instance)
            except ValidationError as e:
                errors[name] = e.error_list
                continue
            setattr(instance, f.attname, value)
            if key is not None and (value.__class__, value) == key:
                fresh.append((accepted, key, name))
        if errors:
            errors = ValidationError(errors).update_error_dict({})
        try:
            instance.clean()
        except ValidationError as e:
            errors = e.update_error_dict(errors)
        failed = {name for name in errors if name != NON_FIELD_ERRORS}
        try:
            instance.validate_constraints(exclude=exclude | failed)
        except ValidationError as e:
            errors = e.update_error_dict(errors)
        if errors:
            self._update_errors(ValidationError(errors))
        for accepted, key, name in fresh:
            if name not in failed and len(accepted) < REBOUND_MEMO:
                accepted.add(key)

    def validate_unique(self):
        """The ID number's uniqueness was judged against ``claimed`` in clean_id_number."""

    def take_record_data(self):
        """The form's own cleaned_data, the version removed, rather than a copy (the next rebind
        starts a new cleaned_data; the import keeps each row's)."""
        self.cleaned_data.pop("version", None)
        return self.cleaned_data


_classes = {}


def rebound(form_class):
    """``form_class`` with ReboundForm applied (one class per form class)."""
    if form_class not in _classes:
        _classes[form_class] = type(f"Rebound{form_class.__name__}", (ReboundForm, form_class), {})
    return _classes[form_class]
