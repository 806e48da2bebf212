"""Run the local model server: the chat-completions API on loopback, with failures on demand."""

from __future__ import annotations

import json
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outreach.drafting.sandbox import KINDS, LOOPBACK_HOSTS, ModelSandbox, ModelSandboxServer


class Command(BaseCommand):
    help = (
        "Run the local model sandbox on 127.0.0.1: an OpenAI-compatible /v1/chat/completions that drafts "
        "grounded emails from the fact sheet and, at the rates you set, the failures the output contract "
        f"must catch ({', '.join(KINDS[1:])}). Control: GET/POST /_sandbox/config. No key needed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.MODEL_SANDBOX_PORT, help="TCP port (default MODEL_SANDBOX_PORT).")
        parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS, help="Loopback address to bind.")
        parser.add_argument("--rates", default="", metavar="JSON", help='Failure rates, e.g. \'{"invented_claim": 0.1, "timeout": 0.02}\'.')
        parser.add_argument("--seed", default="model-sandbox", help="Seed of the failure draws (same seed, same sequence).")
        parser.add_argument("--latency", type=float, default=0.0, help="Seconds before every answer (the bench uses 1).")
        parser.add_argument("--timeout-seconds", type=float, default=60.0, help="How long a 'timeout' holds the request.")

    def handle(self, *args, **options) -> None:
        try:
            rates = json.loads(options["rates"]) if options["rates"] else {}
            sandbox = ModelSandbox(rates=rates, seed=options["seed"], latency=options["latency"], timeout_seconds=options["timeout_seconds"])
            server = ModelSandboxServer(sandbox, options["host"], options["port"])
        except (ValueError, OSError) as exc:
            raise CommandError(f"Cannot start the model sandbox: {exc}") from None
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        self.stdout.write(f"Model sandbox at {server.base_url} (model {settings.MODEL_NAME}, rates {json.dumps(sandbox.rates)})")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop_event.set()
            server.server_close()
