"""The demo's tests use the dispatch tests' real processes (RQ workers, the GHL sandbox process)."""

from __future__ import annotations

from tests.dispatch.conftest import _roles, processes, spawner  # noqa: F401
