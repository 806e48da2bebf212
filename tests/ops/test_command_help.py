from __future__ import annotations

import argparse

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
    parser = command.create_parser("manage.py", name)
    text = " ".join(parser.format_help().split())
    # The whole description is shown, not just a word of it.
    assert len(command.help) > 80
    assert " ".join(command.help.split()) in text
    # Every option of the command's own says what it does (Django's common options are its own business).
    common = {action.dest for action in load_command_class("django.core", "check").create_parser("manage.py", "check")._actions}
    assert _undocumented(parser, common) == []


def _undocumented(parser: argparse.ArgumentParser, common: set[str], prefix: str = "") -> list[str]:
    """Options and subcommands without a help text, subcommands' own options included."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                if not (helps.get(name) or "").strip():
                    missing.append(f"{prefix}{name}")
                missing += _undocumented(subparser, common | {"help"}, f"{prefix}{name} ")
        elif action.dest not in common and not (action.help or "").strip():
            missing.append(f"{prefix}{'/'.join(action.option_strings) or action.dest}")
    return missing
