"""Run the local GHL sandbox (an emulation of the GHL API v2 endpoints we use)."""

from __future__ import annotations

import json
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ghl.sandbox.core import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, Sandbox, SandboxError
from ghl.sandbox.keys import DEFAULT_SEED
from ghl.sandbox.server import LOOPBACK_HOSTS, SandboxHTTPServer


class Command(BaseCommand):
    help = (
        "Run the local GoHighLevel sandbox on 127.0.0.1: contacts, email sends (no idempotency, like GHL), "
        "conversations, rate limits, switchable faults and signed webhooks, with a control API under /_sandbox/. "
        "Prints the sandbox token, location id and the webhook public key to configure the app with. "
        "Use --print-public-key to print only the PEM (for GHL_WEBHOOK_ED25519_PUBLIC_KEY)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.GHL_SANDBOX_PORT, help="TCP port (default GHL_SANDBOX_PORT).")
        parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS, help="Loopback address to bind.")
        parser.add_argument("--token", default=DEFAULT_TOKEN, help="Bearer token the sandbox accepts (default %(default)s).")
        parser.add_argument("--location-id", default=DEFAULT_LOCATION_ID, help="Location the token is bound to (default %(default)s).")
        parser.add_argument("--seed", default=DEFAULT_SEED, help="Seed for ids and the signing keypair (same seed, same key).")
        parser.add_argument("--state", metavar="FILE", help="Persist state to this JSON file (read back on start).")
        parser.add_argument("--webhook-url", default="", help="Deliver webhooks to this loopback URL (e.g. http://127.0.0.1:8000/webhooks/ghl/).")
        parser.add_argument("--webhook-retry-interval", type=float, default=None, help="Seconds between redeliveries after a 429 (GHL: ~600).")
        parser.add_argument(
            "--print-public-key",
            nargs="?",
            const="ed25519",
            choices=["ed25519", "rsa"],
            help="Print the webhook signing public key (PEM; ed25519 by default, rsa for x-wh-signature) and exit.",
        )
        parser.add_argument(
            "--outcomes",
            action="store_true",
            help="Produce each send's outcomes on its own (delivered, opened, replies, bounces, unsubscribes, "
            "complaints, meetings) as signed webhooks; rates via POST /_sandbox/outcomes.",
        )
        parser.add_argument("--outcome-seed", default="", help="Seed of the outcome draws (default: --seed).")
        parser.add_argument(
            "--outcome-delay", type=float, default=None, help="Seconds before each outcome event (default 2)."
        )
        parser.add_argument(
            "--outcome-rates",
            default="",
            metavar="JSON",
            help='Outcome rates as JSON, e.g. \'{"replied": 0.5, "bounced_hard": 0.05}\' (the rest keep their defaults).',
        )
        parser.add_argument(
            "--outcome-reply-mix",
            default="",
            metavar="JSON",
            help='How replies split, as JSON weights, e.g. \'{"interested": 0.5, "stop": 0.05}\' (the rest keep their defaults).',
        )
        parser.add_argument("--json", action="store_true", help="Print the startup facts as one JSON line.")

    def handle(self, *args, **options) -> None:
        try:
            sandbox = Sandbox(
                token=options["token"],
                location_id=options["location_id"],
                seed=options["seed"],
                state_file=options["state"],
                webhook_url=options["webhook_url"],
                webhook_retry_interval=options["webhook_retry_interval"],
            )
        except Exception as exc:  # a bad state file or webhook URL: say which
            raise CommandError(f"Cannot start the GHL sandbox: {exc}") from exc
        if options["outcomes"]:
            changes: dict = {"enabled": True, "seed": options["outcome_seed"]}
            for option, key in (("outcome_rates", "rates"), ("outcome_reply_mix", "reply_mix")):
                if options[option]:
                    try:
                        changes[key] = json.loads(options[option])
                    except json.JSONDecodeError as exc:
                        raise CommandError(f"--{option.replace('_', '-')} is not JSON: {exc}") from None
            if options["outcome_delay"] is not None:
                changes["delay_seconds"] = options["outcome_delay"]
            try:
                sandbox.configure_outcomes(changes)
            except SandboxError as exc:
                raise CommandError(f"Cannot start the GHL sandbox: {exc.body['message']}") from None
        if options["print_public_key"]:
            self.stdout.write(sandbox.public_key_pem(options["print_public_key"]), ending="")
            return
        try:
            server = SandboxHTTPServer(sandbox, host=options["host"], port=options["port"])
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}") from None

        facts = {
            "base_url": server.base_url,
            # The sandbox's own made-up token; printed only when it is the built-in one.
            "token": options["token"] if options["token"] == DEFAULT_TOKEN else "(as given with --token)",
            "location_id": options["location_id"],
            "control_api": f"{server.base_url}/_sandbox/",
            "webhook_url": options["webhook_url"] or None,
            "outcomes": bool(sandbox.outcome_settings["enabled"]),
            "ed25519_public_key": sandbox.public_key_pem("ed25519"),
        }
        if options["json"]:
            self.stdout.write(json.dumps(facts))
        else:
            self.stdout.write(f"GHL sandbox listening on {facts['base_url']} (control API {facts['control_api']})")
            self.stdout.write(f"  GHL_BASE_URL={facts['base_url']}")
            self.stdout.write(f"  GHL_TOKEN={facts['token']}")
            self.stdout.write(f"  GHL_LOCATION_ID={facts['location_id']}")
            if facts["webhook_url"]:
                self.stdout.write(f"  webhooks go to {facts['webhook_url']}")
            if facts["outcomes"]:
                self.stdout.write(f"  outcomes on: each send is followed by its events (POST {facts['control_api']}outcomes)")
            self.stdout.write("  GHL_WEBHOOK_ED25519_PUBLIC_KEY (x-ghl-signature):")
            self.stdout.write(facts["ed25519_public_key"], ending="")
        self.stdout.flush()

        stopping = threading.Event()

        def stop(signum, frame) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server.start_in_thread()
        try:
            while not stopping.wait(0.2):
                pass
        finally:
            server.stop()
            self.stdout.write("GHL sandbox stopped.")
