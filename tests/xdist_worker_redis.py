"""Give each pytest-xdist worker a Redis database of its own (`bin/test --fast` runs two workers).

Tests flush the Redis they use before and after; two workers on one database
would flush each other's queues mid-test. Loaded with `-p` (pytest.ini), so it
runs before pytest-django reads the settings, which read REDIS_URL once.
Each worker's SQLite test database gets its own name from pytest-django already.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... in a worker; unset otherwise
if worker.startswith("gw") and os.environ.get("REDIS_URL"):
    url = urlparse(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunparse(url._replace(path=f"/{int(worker[2:]) + 1}"))
