"""Rate limits (GHL's sliding window and daily quota, with the X-RateLimit-* headers) and switchable faults."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from ghl.sandbox.common import ENDPOINTS, FAULT_MODES, Outcome, RateLimitedWithHeaders, SandboxError


class LimitsAndFaultsMixin:
    """Count requests against GHL's published limits, and stage faults for tests."""

    # -- rate limits -----------------------------------------------------------

    def _count_rate(self, token: str, location_id: str) -> dict[str, str]:
        """Count this request in the (token, location) windows; raise 429 when over."""
        limits = self.config["rate_limit"]
        key = (token, location_id)
        now = time.monotonic()
        interval = limits["interval_ms"] / 1000.0
        with self.lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - interval:
                window.popleft()
            used_today = self._daily.get(key, 0)
            over = len(window) >= limits["max"] or used_today >= limits["daily"]
            if not over:
                window.append(now)
                used_today += 1
                self._daily[key] = used_today
            headers = {
                "X-RateLimit-Limit-Daily": str(limits["daily"]),
                "X-RateLimit-Daily-Remaining": str(max(0, limits["daily"] - used_today)),
                "X-RateLimit-Interval-Milliseconds": str(limits["interval_ms"]),
                "X-RateLimit-Max": str(limits["max"]),
                "X-RateLimit-Remaining": str(max(0, limits["max"] - len(window))),
            }
            if over:
                retry_after = None
                if limits.get("retry_after_header"):
                    if used_today >= limits["daily"]:
                        retry_after = 3600
                    else:
                        retry_after = max(1, int(window[0] + interval - now + 0.999))
                raise RateLimitedWithHeaders(retry_after, headers)
        return headers

    # -- faults -------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise SandboxError(400, f"fault mode must be one of {sorted(FAULT_MODES)}")
        endpoints = spec.get("endpoints") or [spec.get("endpoint") or "*"]
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        unknown = [e for e in endpoints if e != "*" and e not in ENDPOINTS]
        if unknown:
            raise SandboxError(400, f"unknown endpoint(s) {unknown}; known: {sorted(ENDPOINTS)}")
        count = spec.get("count")
        probability = spec.get("probability")
        if probability is not None and not 0 <= float(probability) <= 1:
            raise SandboxError(400, "probability must be between 0 and 1")
        fault = {
            "id": f"fault-{len(self.state['faults']) + 1}-{self._next_seq()}",
            "endpoints": list(endpoints),
            "mode": mode,
            "status": int(spec.get("status", 500 if mode != "rate_limit" else 429)),
            "delay": float(spec.get("delay", 30.0 if mode == "timeout" else 0.0)),
            # For a send: record (deliver) the email although the answer fails - the ambiguous case.
            "deliver": bool(spec.get("deliver", False)),
            "remaining": None if count is None else int(count),
            "skip": int(spec.get("skip", 0)),
            "probability": None if probability is None else float(probability),
            "retry_after": spec.get("retry_after"),
            "message": spec.get("message"),
            "hits": 0,
        }
        with self.lock:
            self.state["faults"].append(fault)
            self._persist()
        return fault

    def _take_fault(self, endpoint: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.state["faults"]:
                if "*" not in fault["endpoints"] and endpoint not in fault["endpoints"]:
                    continue
                if fault["remaining"] is not None and fault["remaining"] <= 0:
                    continue
                if fault.get("skip"):
                    # Let the first `skip` matching calls through: "page 3 fails" is skip=2.
                    fault["skip"] -= 1
                    continue
                if fault["probability"] is not None and self._rng.random() >= fault["probability"]:
                    continue
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
                fault["hits"] += 1
                return dict(fault)
        return None

    def _apply(
        self,
        fault: dict[str, Any] | None,
        endpoint: str,
        token_info: dict[str, Any],
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        trace_id: str,
    ) -> Outcome:
        def run() -> Outcome:
            handler = getattr(self, "api_" + endpoint.replace(".", "_"))
            with self.lock:
                status, payload = handler(location_id=token_info["location_id"], params=params, query=query, body=body)
                self._persist()
            payload = dict(payload)
            payload.setdefault("traceId", trace_id)
            return Outcome(status=status, body=payload)

        if fault is None:
            return run()
        mode = fault["mode"]
        if mode == "latency":
            outcome = run()
            outcome.delay = fault["delay"]
            return outcome
        if mode == "rate_limit":
            raise SandboxError(429, fault["message"] or "Too Many Requests", retry_after=fault["retry_after"])
        if fault["deliver"]:
            try:
                run()
            except SandboxError:
                pass  # the business outcome stands; the answer is the fault's
        if mode == "error":
            status = fault["status"]
            message = fault["message"] or ("Internal server error" if status >= 500 else "Bad Request")
            raise SandboxError(status, message)
        if mode == "timeout":
            return Outcome(hold=fault["delay"])
        if mode == "empty":
            return Outcome(status=200, body=None)  # a 200 with no body at all (a proxy's or gateway's glitch)
        return Outcome(disconnect=True)
