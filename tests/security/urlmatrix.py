"""Walk every URL the project resolves and ask it, as each kind of user, for its status.

The walk starts at the URL resolver, so a URL added anywhere (our apps, the
admin, django-rq, the API) shows up here without anyone listing it; each
pattern is turned into a concrete path with ids of rows that exist.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ("anon", "staff", "hos", "operator", "super")


@dataclass(frozen=True)
class Route:
    pattern: str  # the full pattern, as the table names it
    name: str  # namespaced URL name, or "" for unnamed patterns
    params: tuple[str, ...]


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def walk(urlconf: str | None = None) -> list[Route]:
    """Return every leaf pattern of the URL configuration, first occurrence of each pattern only."""

    def visit(patterns, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
                yield from visit(entry.url_patterns, prefix + str(entry.pattern), inner or "")
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
                full = "/" + prefix + str(entry.pattern)
                yield Route(full, name, tuple(_params(full)))

    seen: dict[str, Route] = {}
    for route in visit(get_resolver(urlconf).url_patterns, "", ""):
        seen.setdefault(route.pattern, route)
    return list(seen.values())


def _params(pattern: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", pattern) + re.findall(r"\(\?P<(\w+)>", pattern)


def concrete_path(route: Route, values: Callable[[Route, str], str]) -> str:
    """Return a path for `route`, each parameter filled by `values(route, name)`."""
    path = route.pattern.lstrip("/")
    for name in route.params:
        value = values(route, name)
        path = re.sub(rf"\(\?P<{name}>[^)]*\)\??", value, path)
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    # What is left of a regular expression: anchors and optional slashes.
    path = path.replace("^", "").replace("$", "").replace("/?", "/")
    return "/" + re.sub("/+", "/", path).lstrip("/")


def model_of(route: Route):
    """Return the model whose ModelAdmin owns `route` (by its URL name), or None."""
    match = re.match(r"admin:(\w+?)_(\w+?)_(\w+)$", route.name)
    candidates = {(m._meta.app_label, m._meta.model_name): m for m in admin.site._registry}
    if match:
        for (app_label, model_name), model in candidates.items():
            if route.name.startswith(f"admin:{app_label}_{model_name}_"):
                return model
    for (app_label, model_name), model in candidates.items():
        if route.pattern.startswith(f"admin/{app_label}/{model_name}/"):
            return model
    return None


def outcome(response) -> str:
    """Name a response the way the table does: a status, or `login` for a redirect to the login page."""
    if response.status_code == 302 and "/admin/login/" in response.get("Location", ""):
        return "login"
    return str(response.status_code)


def ask(clients: dict[str, Client], path: str) -> dict[str, str]:
    return {role: outcome(clients[role].get(path)) for role in ROLES}


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """Read the expectation table: a header line, then rows of five outcomes and a pattern; `#` starts a comment."""
    rows: dict[str, dict[str, str]] = {}
    for line in text.strip().splitlines()[1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        *outcomes, pattern = line.split(maxsplit=len(ROLES))
        if pattern in rows:
            raise ValueError(f"the table names {pattern} twice")
        rows[pattern] = dict(zip(ROLES, outcomes))
    return rows


def check(
    clients: dict[str, Client],
    values: Callable[[Route, str], str],
    table: dict[str, dict[str, str]],
    *,
    only: set[str] | None = None,
) -> list[str]:
    """Return every way the site differs from the table (empty when it agrees).

    Every resolved pattern must have a row and every row a pattern; the
    outcomes are asked for the patterns in `only` (all when None).
    """
    routes = walk()
    problems = [f"{r.pattern}: no row in the table (a new URL: say who may open it)" for r in routes if r.pattern not in table]
    resolved = {r.pattern for r in routes}
    problems += [f"{pattern}: a row for a URL that no longer resolves" for pattern in table if pattern not in resolved]
    for route in routes:
        if route.pattern not in table or (only is not None and route.pattern not in only):
            continue
        path = concrete_path(route, values)
        got = ask(clients, path)
        for role in ROLES:
            if got[role] != table[route.pattern][role]:
                problems.append(f"GET {path} as {role}: expected {table[route.pattern][role]}, got {got[role]}")
    return problems


def values_for(world: dict) -> Callable[[Route, str], str]:
    """Return the filler for `concrete_path`: ids of rows and RQ objects that exist in `world`."""
    from compliance.footer import unsubscribe_token
    from django.contrib.auth.models import User
    from outreach.models import Lead

    def value(route, name):
        if name == "object_id" and route.pattern.startswith("/admin/r/"):
            return str(Lead.objects.first().pk)
        if name == "object_id":
            model = model_of(route)
            row = model._default_manager.order_by("pk").first() if model and model._meta.managed else None
            return str(row.pk) if row else "1"
        if name == "lead_id":
            # The look-alike confirmation: a lead with an unconfirmed look-alike domain (the world makes one).
            return str(Lead.objects.filter(lookalike__gt="", lookalike_confirmed_at=None).order_by("pk").first().pk)
        if name == "content_type_id":
            return str(ContentType.objects.get_for_model(Lead).pk)
        if name == "id":
            return str(User.objects.order_by("pk").first().pk)
        if name in ("queue_index", "scheduler_index", "connection_index"):
            return "0"
        if name == "job_id":
            return world["job"].id
        if name == "result_id":
            return str(world["job"].latest_result().id)
        if name == "key":
            return world["worker"].key
        if name == "scheduler_name":
            return "matrix-scheduler"
        if name == "cron_job_name":
            return "matrix-job"
        if name == "token" and route.pattern.startswith("/unsubscribe/"):
            return unsubscribe_token(Lead.objects.first().pk)
        if name == "token":
            return "sometoken"
        if name == "app_label":
            return "outreach"
        if name == "url":
            return "no-such-page/"
        raise AssertionError(f"no value for <{name}> in {route.pattern}")

    return value
