"""The sandbox's state: one JSON-serializable document behind one lock, persisted to a file for other processes,
with deterministic ids and the configuration."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ghl.sandbox.common import (
    ALL_SCOPES,
    DEFAULT_COMPANY_ID,
    DEFAULT_LOCATION_ID,
    DEFAULT_TOKEN,
    ID_ALPHABET,
    Exchange,
)
from ghl.sandbox.keys import DEFAULT_SEED, ed25519_key, rsa_key
from ghl.sandbox.outcomes import default_outcomes
from ghl.webhooks import WebhookSigner, public_key_pem


def default_config() -> dict[str, Any]:
    return {
        "rate_limit": {"max": 100, "interval_ms": 10_000, "daily": 200_000, "retry_after_header": True},
        # Where webhook deliveries go (loopback only) and how.
        "webhook_url": "",
        "webhook_retry_interval": 600.0,
        "webhook_max_retries": 6,
        "webhook_timeout": 5.0,
        # Events emitted after each send when webhook_url is set.
        "auto_events": ["OutboundMessage", "accepted", "delivered"],
        "sign_ed25519": True,
        "sign_rsa": False,
        # Top-level timestamp/webhookId/appId/versionId on each delivery, as GHL's authentication guide says.
        "webhook_stamps": True,
        # LCEmailStats' lc-operations block: not in GHL's documents; community reports say GHL sends it.
        "lc_operations": False,
        # Response shapes: the spec's by default; the others are shapes clients report GHL answering too.
        "messages_list_shape": "flat",  # or "nested"
        "email_shape": "bare",  # or "wrapped"
        "message_shape": "bare",  # or "wrapped"
        # Where a message names its email ids: the spec's description (meta.email.messageIds), its
        # example ("meta.email.email"), or "absent" (meta left out, as the spec allows).
        "email_ids_shape": "meta.email",
        "messages_page_size": 20,
        # Outcomes produced on their own after each send (ghl.sandbox.outcomes); off unless asked for.
        "outcomes": default_outcomes(),
    }


class SandboxState:
    """The state and its plumbing; the behaviour comes from the mixins `ghl.sandbox.core.Sandbox` combines."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        location_id: str = DEFAULT_LOCATION_ID,
        seed: str = DEFAULT_SEED,
        state_file: str | None = None,
        webhook_url: str = "",
        webhook_retry_interval: float | None = None,
    ) -> None:
        self.token = token
        self.location_id = location_id
        self.seed = seed
        self.state_file = state_file
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.signer = WebhookSigner(ed25519_key(seed))
        self._startup_config: dict[str, Any] = {"webhook_url": webhook_url}
        if webhook_retry_interval is not None:
            self._startup_config["webhook_retry_interval"] = webhook_retry_interval
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._daily: dict[tuple[str, str], int] = {}
        self._outbox: list[threading.Thread] = []
        # Called with every API Exchange, in the serving thread; in memory only.
        self.observers: list[Callable[[Exchange], None]] = []
        self.state: dict[str, Any] = {}
        self._rng = random.Random(seed)
        if state_file and os.path.exists(state_file):
            # Read the saved state back (before anything could overwrite the file).
            self.state = self._initial_state()
            self._load(state_file)
        else:
            self.reset()

    # -- state --------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.state = self._initial_state()
            self._windows.clear()
            self._daily.clear()
            self._rng = random.Random(self.seed)
            self._persist()

    def _initial_state(self) -> dict[str, Any]:
        config = default_config()
        config.update(self._startup_config)
        return {
            "seed": self.seed,
            "id_counter": 0,
            "seq": 0,
            "config": config,
            "tokens": {self.token: {"location_id": self.location_id, "scopes": list(ALL_SCOPES)}},
            "locations": {
                self.location_id: {
                    "allow_duplicates": False,
                    "duplicate_priority": ["email", "phone"],
                    "company_id": DEFAULT_COMPANY_ID,
                }
            },
            "contacts": {},
            "conversations": {},
            "messages": {},
            "emails": {},
            "deliveries": [],
            "webhooks": [],
            "requests": [],
            "faults": [],
        }

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
        with self.lock:
            self.state.update(loaded)
            # Settings given at start-up win over the saved ones (the app may listen elsewhere now).
            self.state["config"].update({key: value for key, value in self._startup_config.items() if value})
            # The token given at start-up always works, whatever the file says.
            self.state["tokens"].setdefault(self.token, {"location_id": self.location_id, "scopes": list(ALL_SCOPES)})

    def _persist(self) -> None:
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(prefix=".ghl-sandbox-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle)
        os.replace(tmp, self.state_file)

    def new_id(self, kind: str) -> str:
        """Return a deterministic 20-character alphanumeric id (same seed + order = same ids)."""
        self.state["id_counter"] += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self.state['id_counter']}".encode()).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(20):
            number, index = divmod(number, len(ID_ALPHABET))
            chars.append(ID_ALPHABET[index])
        return "".join(chars)

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return self.state["seq"]

    @property
    def config(self) -> dict[str, Any]:
        return self.state["config"]

    def public_key_pem(self, kind: str = "ed25519") -> str:
        return public_key_pem(rsa_key(self.seed) if kind == "rsa" else ed25519_key(self.seed))
