"""The tuning tests' browser pages use the browser tests' headless Chromium fixtures."""

from __future__ import annotations

from tests.browser.conftest import browser, login, page, screenshots, seeded  # noqa: F401
