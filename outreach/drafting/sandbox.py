"""A local model server for the demo, the tests and the bench: the chat-completions API on loopback.

It drafts a plausible email from the fact sheet in the request (the lead's
first name and company, the campaign's offer and proof lines, quoted word for
word, each claim citing its fact) through the output tool the client asked
for, and, on purpose, produces the failures the output contract must catch:

  invented_claim  a funding round no fact states, cited to a proof fact
  banned_phrase   an AI tell ("I hope this email finds you well")
  placeholder     an unrendered {{ first_name }}
  malformed       tool arguments that do not fit the schema
  timeout         no answer until the client gives up

Which reply comes next: the `script` (a list of kinds, taken one per request,
for tests), else a draw from `rates` with `seed` (the demo). `latency` delays
every answer (the bench's 1-second model). Control: GET or POST
/_sandbox/config, GET /_sandbox/stats. It binds loopback only and needs no key.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

KINDS = ("ok", "invented_claim", "banned_phrase", "placeholder", "malformed", "timeout")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_SHEET_RE = re.compile(r"FACT SHEET \(JSON\):\n(\{.*\})", re.DOTALL)


class ModelSandbox:
    """The sandbox's state: what to answer next, and counts of what it answered."""

    def __init__(self, *, rates: dict | None = None, seed: str = "model-sandbox", latency: float = 0.0, timeout_seconds: float = 60.0) -> None:
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.rates: dict[str, float] = {}
        self.script: list[str] = []
        self.latency = latency
        self.timeout_seconds = timeout_seconds
        self.seed = seed
        self.random = random.Random(seed)
        self.stats: dict[str, int] = {kind: 0 for kind in KINDS}
        self.configure({"rates": rates or {}})

    def configure(self, changes: dict) -> dict:
        with self.lock:
            if "rates" in changes:
                unknown = set(changes["rates"]) - set(KINDS[1:])
                if unknown:
                    raise ValueError(f"unknown failure kinds {sorted(unknown)} (known: {', '.join(KINDS[1:])})")
                self.rates = {kind: float(rate) for kind, rate in changes["rates"].items()}
            if "script" in changes:
                unknown = set(changes["script"]) - set(KINDS)
                if unknown:
                    raise ValueError(f"unknown kinds in script {sorted(unknown)}")
                self.script = list(changes["script"])
            if "seed" in changes:
                self.seed = str(changes["seed"])
                self.random = random.Random(self.seed)
            for key in ("latency", "timeout_seconds"):
                if key in changes:
                    setattr(self, key, float(changes[key]))
            return self.config()

    def config(self) -> dict:
        return {"rates": self.rates, "script": self.script, "seed": self.seed, "latency": self.latency, "timeout_seconds": self.timeout_seconds}

    def next_kind(self) -> str:
        with self.lock:
            if self.script:
                kind = self.script.pop(0)
            else:
                draw, kind = self.random.random(), "ok"
                for name, rate in self.rates.items():
                    if draw < rate:
                        kind = name
                        break
                    draw -= rate
            self.stats[kind] += 1
            return kind

    def complete(self, request: dict) -> tuple[int, dict | None, float]:
        """Answer one chat-completions request: (status, body or None to hang up, seconds to wait first)."""
        kind = self.next_kind()
        if kind == "timeout":
            return 200, None, self.timeout_seconds
        sheet = _fact_sheet(request.get("messages", []))
        if sheet is None:
            return 400, {"error": {"message": "no FACT SHEET (JSON) in the request", "type": "invalid_request_error"}}, self.latency
        # A prompt whose style rules forbid the usual opener gets drafts without it: candidates differ.
        plain = any("open with a line like “I am writing because" in str(m.get("content") or "") for m in request.get("messages", []))
        arguments = json.dumps(_draft(sheet, kind, plain_opener=plain)) if kind != "malformed" else '{"subject": "Quick question", "claims": "none"}'
        tools = request.get("tools") or []
        tool_name = tools[0]["function"]["name"] if tools else ""
        message: dict = {"role": "assistant", "content": None}
        if tool_name:
            message["tool_calls"] = [{"id": f"call_{self.stats[kind]}", "type": "function", "function": {"name": tool_name, "arguments": arguments}}]
        else:
            message["content"] = arguments
        prompt_chars = sum(len(str(m.get("content") or "")) for m in request.get("messages", []))
        usage = {"prompt_tokens": prompt_chars // 4 + 50, "completion_tokens": len(arguments) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        body = {
            "id": f"chatcmpl-sandbox-{sum(self.stats.values())}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "caio-sandbox-1"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_name else "stop"}],
            "usage": usage,
        }
        return 200, body, self.latency


def _fact_sheet(messages: list) -> dict | None:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        match = _SHEET_RE.search(content or "")
        if match:
            return json.loads(match.group(1))
    return None


def _draft(sheet: dict, kind: str, *, plain_opener: bool = False) -> dict:
    """A plausible grounded draft from the sheet, spoiled the way `kind` says."""
    facts = {fact["id"]: fact for fact in sheet.get("facts", [])}
    first = facts.get("lead.first_name", {}).get("text", "there")
    company = facts.get("lead.company", {}).get("text", "")
    sender = facts.get("sender.name", {}).get("text", "The team")
    offers = [f for f in sheet.get("facts", []) if f["kind"] == "offer"]
    proofs = [f for f in sheet.get("facts", []) if f["kind"] == "proof"]
    claims, sentences = [], []
    if company:
        lead_in = "" if plain_opener else "I am writing because "
        sentences.append(f"{lead_in}{company} looks like a team we could help.")
        claims.append({"text": company, "fact": "lead.company"})
    for fact in (offers[:1] + proofs[:1]):
        sentence = fact["text"].rstrip(".")
        sentences.append(sentence + ".")
        claims.append({"text": sentence, "fact": fact["id"]})
    greeting = "Hi {{ first_name }}," if kind == "placeholder" else f"Hi {first},"
    opener = "I hope this email finds you well. " if kind == "banned_phrase" else ""
    if kind == "invented_claim":
        invented = "We just helped Globex close a $40M Series B"
        sentences.append(invented + ".")
        claims.append({"text": invented, "fact": proofs[0]["id"] if proofs else "lead.company"})
    body = f"{greeting}\n\n{opener}{' '.join(sentences)}\n\nWould a short call next week be useful?\n\nBest,\n{sender}"
    subject = f"A question for {company}" if company else "A quick question"
    return {"subject": subject, "body": body, "claims": claims}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CAIO-Model-Sandbox/1.0"
    disable_nagle_algorithm = True
    server: ModelSandboxServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's name
        logger.debug("model sandbox: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802
        sandbox = self.server.sandbox
        if self.path == "/_sandbox/config":
            self._send(200, sandbox.config())
        elif self.path == "/_sandbox/stats":
            self._send(200, dict(sandbox.stats))
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        if self.path == "/_sandbox/config":
            try:
                self._send(200, sandbox.configure(request))
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": {"message": str(exc)}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no such endpoint {self.path}"}})
            return
        status, body, wait = sandbox.complete(request)
        if wait:
            sandbox.stop_event.wait(wait)
        if body is None:  # the timeout: hang up without an answer
            self.close_connection = True
            return
        self._send(status, body)

    def _send(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class ModelSandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    # The bench holds 16 requests open at once.
    request_queue_size = 64

    def __init__(self, sandbox: ModelSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the model sandbox binds loopback only, not {host}")
        self.sandbox = sandbox
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ModelSandboxServer:
        """Serve from a background thread (tests, the bench); `stop()` ends it."""
        self._thread = threading.Thread(target=self.serve_forever, name="model-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.stop_event.set()
        self.shutdown()
        self.server_close()
