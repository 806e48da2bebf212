"""Query parameters, checked before anything uses them: a bad one is a 400 that names it, never a 500.

Two kinds of reader share these checks:
- the pages that read their own parameters (the tuning report, the dispatch
  console) call `date_param` / `int_param` and let `answers_bad_parameters`
  turn a BadParameter into the 400;
- every admin changelist's filters (list_filter, date_hierarchy, related ids)
  are checked by `changelist_problem` against the model's own fields, from the
  admin site (caio.admin_site), so a filter added later is covered too.
Python's dates stop at year 9999 and the databases' integers at 64 bits: a
value past either used to reach the database or the date arithmetic and fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps

from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, models
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

# A week or a day's bounds around the date must still be a date.
FIRST_DATE, LAST_DATE = dt.date(2, 1, 1), dt.date(9998, 12, 31)
# The parts of a date or time a lookup may name, and the values each can take.
DATE_PARTS = {
    "year": (1, 9999), "iso_year": (1, 9999), "month": (1, 12), "day": (1, 31), "week": (1, 53), "week_day": (1, 7),
    "iso_week_day": (1, 7), "quarter": (1, 4), "hour": (0, 23), "minute": (0, 59), "second": (0, 59),
}
INTEGER_TYPES = {
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
}
COMPARISONS = {"", "exact", "gt", "gte", "lt", "lte", "in", "range"}
# The changelist's own parameters: Django checks them itself.
CHANGELIST_VARS = {ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, ERROR_FLAG, IS_POPUP_VAR, TO_FIELD_VAR, IS_FACETS_VAR}


class BadParameter(ValueError):
    """A query parameter that cannot be used; the message names it and says what it must be."""


def date_param(name: str, text: str) -> dt.date:
    """Return ?name= as a date, or raise BadParameter naming what it must be."""
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise BadParameter(f"{name} must be a date as YYYY-MM-DD, not {text!r}.") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise BadParameter(f"{name} must be a date from {FIRST_DATE} to {LAST_DATE}, not {text}.")
    return value


def int_param(name: str, text: str, *, low: int = 1, high: int = 2**63 - 1) -> int:
    """Return ?name= as a whole number from `low` to `high`, or raise BadParameter naming what it must be."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise BadParameter(f"{name} must be a whole number, not {text!r}.") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}, not {text}.")
    return value


def bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def answers_bad_parameters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a view so a BadParameter it raises is answered 400 with its message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadParameter as exc:
            return bad_request(str(exc))

    return wrapper


def nul_problem(params: QueryDict) -> str | None:
    """Return what is wrong if any parameter holds a NUL character (PostgreSQL refuses it in any text)."""
    for key, values in params.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return f"The query parameter {key!r} must not contain a NUL character."
    return None


def changelist_problem(model: type[models.Model], params: QueryDict) -> str | None:
    """Return what is wrong with the first filter parameter of a changelist of `model` that cannot be used, or None.

    1. The changelist's own parameters (page, ordering, search, ...) are left to Django.
    2. A parameter is read as a field path and lookups (`campaign__id__exact`,
       `date__year`); one that names no field (a SimpleListFilter's own
       parameter, a lookup the admin refuses itself) is left to them.
    3. Each value (each item of an `__in` list) must be usable: a date part in
       its range, a whole number within the field's database range, a date or
       time the field can read.
    """
    for key, values in params.lists():
        if key in CHANGELIST_VARS:
            continue
        found = _field_path(model, key)
        if found is None:
            continue
        field, lookups = found
        for value in values:
            items = value.split(",") if lookups and lookups[-1] in ("in", "range") else [value]
            for item in items:
                problem = _value_problem(field, lookups, item)
                if problem:
                    return f"The query parameter {key}={item!r} cannot be used: {problem}."
    return None


def _field_path(model: type[models.Model], key: str) -> tuple[models.Field, list[str]] | None:
    """Return the field a filter parameter ends on (a relation's target field) and the lookups after it."""
    parts = key.split("__")
    field = None
    for index, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return (field, parts[index:]) if field is not None else None
        if field.is_relation and field.related_model is not None:
            model = field.related_model
            field = _target(field)
    return field, []


def _target(relation) -> models.Field:
    try:
        return relation.target_field
    except (AttributeError, FieldDoesNotExist, ValueError):
        return relation.related_model._meta.pk


def _value_problem(field: models.Field, lookups: list[str], value: str) -> str | None:
    lookup = lookups[0] if lookups else ""
    if lookup in DATE_PARTS:
        low, high = DATE_PARTS[lookup]
        return _whole_number_problem(value, low, high, what=f"a {lookup.replace('_', ' ')}")
    if lookup not in COMPARISONS or len(lookups) > 1:
        return None
    kind = field.get_internal_type()
    if kind in INTEGER_TYPES:
        low, high = connection.ops.integer_field_range(kind)
        return _whole_number_problem(value, -(2**63) if low is None else low, 2**63 - 1 if high is None else high, what="a whole number")
    if isinstance(field, (models.DateField, models.TimeField)):
        try:
            parsed = field.to_python(value)
        except ValidationError:
            return f"{field.name} must be a {kind.removesuffix('Field').lower()} as ISO 8601 (YYYY-MM-DD)"
        day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
        if isinstance(day, dt.date) and not FIRST_DATE <= day <= LAST_DATE:
            return f"a date must be from {FIRST_DATE} to {LAST_DATE}"
    return None


def _whole_number_problem(value: str, low: int, high: int, *, what: str) -> str | None:
    try:
        number = int(value)
    except ValueError:
        return f"{what} must be a whole number"
    if not low <= number <= high:
        return f"{what} must be from {low} to {high}"
    return None
