"""Output helpers shared by the operator's management commands."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from ramp.days import operating_date
from ramp.holds import hold_banner_lines


def write_hold_banner(command: BaseCommand) -> None:
    """Write the active holds first, so nobody reads a report without seeing them."""
    for index, line in enumerate(hold_banner_lines()):
        command.stdout.write(command.style.ERROR(line) if index == 0 else f"  {line}")


def write_json(command: BaseCommand, document: dict) -> None:
    """Write one JSON document and nothing else (active holds go inside it)."""
    document = {"holds": hold_banner_lines()[1:], **document}
    command.stdout.write(json.dumps(document, indent=2, cls=DjangoJSONEncoder, sort_keys=False))


def parse_date(value: str | None) -> dt.date | None:
    """Parse --date YYYY-MM-DD (or 'today'/'yesterday' in the operating zone); CommandError names the problem."""
    if value is None:
        return None
    if value in ("today", "yesterday"):
        today = operating_date()
        return today if value == "today" else today - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must look like 2026-02-19 (or today/yesterday), got {value!r}.") from None
