from __future__ import annotations

import pytest
from django.core.management import load_command_class

COMMANDS = {
    "preflight": "ramp",
    "ramp": "ramp",
    "trace_queue": "outreach",
    "cleanup_queue": "outreach",
    "daily_report": "outreach",
    "replay": "outreach",
    "smoke": "caio",
    "api_token": "caio",
}


@pytest.mark.parametrize("name, app", COMMANDS.items())
def test_every_operator_command_explains_itself(name, app):
    command = load_command_class(app, name)
    text = command.create_parser("manage.py", name).format_help()
    assert len(command.help) > 80
    assert command.help.split()[0] in text
