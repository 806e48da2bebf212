"""Typed GHL errors: what went wrong, and what the caller may safely do next.

Three questions matter to a caller that sends email through GHL:

* `permanent` - retrying the same request can never succeed (bad token, DND,
  invalid email, unknown contact): mark the work failed instead of looping.
* `ambiguous` - the request reached GHL but we did not learn the outcome (5xx,
  read timeout, connection lost after sending). For a send this means the email
  may or may not exist: reconcile before resending, because GHL has no
  idempotency key.
* `retry_safe` - the request certainly did not take effect (429, connection
  refused, our own limiter refused): retrying cannot duplicate anything.
"""

from __future__ import annotations


class GhlError(Exception):
    """Base class of every error raised by the `ghl` package."""

    permanent: bool = False
    ambiguous: bool = False
    retry_safe: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        trace_id: str | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.trace_id = trace_id
        if permanent is not None:
            self.permanent = permanent

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.trace_id:
            parts.append(f"[traceId {self.trace_id}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, trace_id={self.trace_id!r})"


class GhlAuthError(GhlError):
    """401/403: bad or expired token, missing scope, wrong location, missing Version header."""

    permanent = True


class GhlNotFound(GhlError):
    """404, or a 400 whose message says "... not found" (GHL does both)."""

    permanent = True


class GhlValidationError(GhlError):
    """400/422: GHL refused the input, including DND, unsubscribed and invalid-email rejections."""

    permanent = True

    def __init__(self, message: str, *, details: list[str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        # 422 bodies carry a list of messages; 400 bodies one string.
        self.details: list[str] = list(details) if details else [message]


class GhlUnsafeField(GhlValidationError):
    """We refused to send a field holding control characters (CR/LF could forge headers or split records)."""

    def __init__(self, field: str, **kwargs) -> None:
        super().__init__(f"{field} contains control characters; refused before sending to GHL", **kwargs)
        self.field = field


class GhlIncompleteRead(GhlError):
    """A paged listing could not be read to its end: what was read proves nothing about what was not.

    Neither permanent nor retry-safe in itself: a later read may complete. A
    caller looking for something in the listing must not conclude "absent".
    """

    def __init__(self, message: str, *, page: int | None, reason: str, **kwargs) -> None:
        # page None: every page was read, but something on one could not be.
        where = f"page {page} unread" if page is not None else "not read in full"
        super().__init__(f"{message}: {where} ({reason})", **kwargs)
        self.page = page
        self.reason = reason


class GhlRateLimited(GhlError):
    """429 from GHL, or our shared limiter refused to wait that long. The request did not take effect."""

    retry_safe = True

    def __init__(self, message: str, *, retry_after: float, daily: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))
        # True when the daily quota (not the 10-second burst window) is used up.
        self.daily = daily


class GhlServerError(GhlError):
    """5xx (or an unreadable 2xx body): the request reached GHL, the outcome is unknown."""

    ambiguous = True


class GhlUnreadableAnswer(GhlServerError):
    """GHL answered 2xx with a body we cannot read: empty, not JSON, or without the fields its documents promise.

    Not an answer: a 200 with an empty body must never read as "no contact"
    or "no message". Ambiguous like any 5xx (for a send, reconcile first).
    """


class GhlTimeout(GhlError):
    """No answer in time after the request was sent: the outcome is unknown."""

    ambiguous = True


class GhlConnectionLost(GhlTimeout):
    """The connection broke after the request was sent (reset, closed without answer): outcome unknown."""


class GhlConnectionError(GhlError):
    """Could not connect at all (refused, DNS, connect timeout): the request never left, so a retry is safe."""

    retry_safe = True


class GhlLimiterUnavailable(GhlConnectionError):
    """The shared rate limiter (Redis) could not be reached; nothing was sent to GHL."""


class GhlSignatureError(GhlError):
    """A webhook delivery failed authentication (bad/missing signature, stale timestamp, bad key)."""

    permanent = True
