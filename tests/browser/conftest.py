"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright against live_server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-Secret-123"  # tests.factories.make_user's default


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = os.environ.get("CAIO_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.skip(f"Chromium not found at {executable} (set CAIO_CHROMIUM)")
    # Playwright's sync API keeps an event loop on the test thread; Django then refuses
    # ORM calls there although nothing async touches them. Allowed for these tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshots() -> Path:
    """The git-ignored folder the run writes its screenshots to."""
    folder = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def seeded(transactional_db):
    """Recreate what the data migrations seed (role groups, rejection tags): a transactional test's flush empties them."""
    import importlib

    from django.apps import apps

    from outreach.models import RejectionTag
    from outreach.roles import sync_roles

    seed = importlib.import_module("outreach.migrations.0002_seed_tags_and_roles")
    for slug, label, description, system in seed.TAGS:
        RejectionTag.objects.update_or_create(slug=slug, defaults={"label": label, "description": description, "system": system})
    sync_roles(apps)


@pytest.fixture
def login(page, live_server, seeded):
    """Log a user in through the admin login form, as a person would."""

    def log_in(user) -> None:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")

    return log_in
