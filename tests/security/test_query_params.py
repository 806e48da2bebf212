"""Every admin and page query parameter, given out-of-range or malformed values, answers 400 or a page, never a 500.

The changelist parameters are found, not listed: each registered admin's
list_filter, date_hierarchy and search, plus the changelist's own (page,
ordering); the pages with parameters of their own are named below.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin import SimpleListFilter

HUGE = "99999999999999999999"
# Values that reach past every range a database or Python's dates hold, or are not values at all.
BAD_VALUES = [HUGE, "-" + HUGE, "0", "9999-12-31", "x", "\x00"]
# Suffixes a filter's parameter takes (DateFieldListFilter's ranges, the date hierarchy's parts, related ids).
SUFFIXES = ["", "__exact", "__gte", "__lt", "__year", "__month", "__day", "__isnull", "__id__exact", "__in"]

# The known 500s of the hostile review, by name.
KNOWN = [
    "/admin/tuning/?week=9999-12-31",
    "/admin/tuning/examples/?campaign=99999999999999999999&step=1&version=v1&tag=x",
    "/admin/ramp/rampday/?date__year=99999999999999999999",
    "/admin/ramp/livecycle/?date__year=0",
]
# Pages outside the changelists that read the query string.
PAGES = {
    "/admin/tuning/": ["week"],
    "/admin/tuning/export.csv": ["week"],
    "/admin/tuning/examples/": ["week", "campaign", "step", "version", "tag"],
    "/admin/outreach/dispatchconsole/": ["limit"],
}


def changelist_parameters(model_admin) -> Iterator[str]:
    """Yield every parameter name a changelist reads: its filters', the date hierarchy's, and its own."""
    yield from ("p", "o", "q", "_facets", "_to_field", "e", "all")
    for spec in model_admin.list_filter:
        if isinstance(spec, type) and issubclass(spec, SimpleListFilter):
            yield spec.parameter_name
            continue
        name = spec[0] if isinstance(spec, (tuple, list)) else spec
        for suffix in SUFFIXES:
            yield name + suffix
    if model_admin.date_hierarchy:
        for suffix in ("__year", "__month", "__day"):
            yield model_admin.date_hierarchy + suffix


def hostile_queries() -> Iterator[str]:
    for url in KNOWN:
        yield url
    for path, names in PAGES.items():
        for name in names:
            for value in BAD_VALUES:
                yield f"{path}?{urlencode({name: value})}"
    for model, model_admin in admin.site._registry.items():
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for name in dict.fromkeys(changelist_parameters(model_admin)):
            for value in BAD_VALUES:
                yield f"{path}?{urlencode({name: value})}"


def test_the_filters_are_found():
    # It should find the parameters the hostile review named, so the walk below covers them.
    from ramp.models import LiveCycle, RampDay

    assert "date__year" in set(changelist_parameters(admin.site._registry[RampDay]))
    assert "date__year" in set(changelist_parameters(admin.site._registry[LiveCycle]))


# Slow: an exhaustive walk of every admin's filters with every kind of bad value; the
# whole suite runs it, the inner loop (`bin/test --fast`) leaves it out.
@pytest.mark.postgres
@pytest.mark.slow
def test_no_query_parameter_gives_a_500(world, role_clients):
    client = role_clients["super"]
    failures = []
    for url in hostile_queries():
        response = client.get(url)
        # A page, a 400, or the changelist's own "?e=1" answer to a lookup it cannot use.
        if response.status_code not in (200, 400) and not (response.status_code == 302 and response["Location"].endswith("?e=1")):
            failures.append(f"{url}: {response.status_code}")
    print("\n".join(failures))
    assert failures == []


def test_the_known_ones_answer_400_with_what_is_wrong(role_clients, db):
    client = role_clients["super"]
    for url in KNOWN:
        response = client.get(url)
        # It should say which parameter is wrong, in a 400.
        assert response.status_code == 400, url
        assert "must be" in response.content.decode(), (url, response.content[:300])
