"""The sandbox's GHL emulation: one `Sandbox` made of one part per concern.

Everything is plain Python behind one lock; `ghl.sandbox.server` only turns
HTTP requests into `Sandbox.handle_api()` / `Sandbox.handle_control()` calls.
The state is JSON-serializable so it can be persisted to a file that other
processes read.

What it emulates, as GHL's published API documents it (the contract tests in
tests/ghl/ hold it to GHL's OpenAPI files): bearer tokens bound to one
location with scopes, each endpoint's own Version header, contacts with
duplicate rules and DND, email sends with NO idempotency, conversations and
the paged message list in the spec's flat shape (the nested shape GHL is
reported to answer too, as an option), per-(token, location) sliding-window and
daily limits with the five X-RateLimit-* headers, switchable faults, and
signed webhook deliveries.

| module | concern |
|---|---|
| `common` | constants, SandboxError, Outcome, Exchange, small helpers |
| `state` | the state document, persistence, ids, configuration |
| `api` | routing, tokens and scopes, Version, the request log, observers |
| `limits` | rate limits and switchable faults |
| `contacts` | the contacts endpoints |
| `conversations` | sends, search, message list and reads |
| `outgoing` | webhook events: build, sign, deliver |
| `outcomes` | what happens to each send on its own (delivered, replies, bounces...), at set rates |
| `control` | the /_sandbox/ control API |
"""

from __future__ import annotations

from ghl.sandbox.api import ApiMixin
from ghl.sandbox.common import (  # noqa: F401  (the names this module has always offered)
    ALL_SCOPES,
    DEFAULT_COMPANY_ID,
    DEFAULT_LOCATION_ID,
    DEFAULT_TOKEN,
    ENDPOINTS,
    FAULT_MODES,
    PUBLISHED_VERSIONS,
    SENDER_EMAIL,
    Exchange,
    Outcome,
    SandboxError,
    iso,
    utcnow,
)
from ghl.sandbox.contacts import ContactsMixin
from ghl.sandbox.control import ControlMixin
from ghl.sandbox.conversations import ConversationsMixin
from ghl.sandbox.limits import LimitsAndFaultsMixin
from ghl.sandbox.outcomes import OutcomesMixin
from ghl.sandbox.outgoing import OutgoingWebhooksMixin
from ghl.sandbox.state import SandboxState, default_config  # noqa: F401


class Sandbox(
    ApiMixin,
    LimitsAndFaultsMixin,
    ContactsMixin,
    ConversationsMixin,
    OutgoingWebhooksMixin,
    OutcomesMixin,
    ControlMixin,
    SandboxState,
):
    """In-memory GHL emulation for one or more locations (see the module docstring for its parts)."""
