"""Prompt versions: each saved change a new version, recorded on cards, counted by the tuning report; rollback."""

from __future__ import annotations

import pytest

from outreach.drafting.drafters import save_step
from outreach.drafting.pipeline import run_pipeline
from outreach.drafting.prompts import PromptError, rollback
from outreach.models import PendingEmail, PromptVersion
from outreach.reports.tuning import tuning_report
from tests.factories import make_lead
from tests.model_drafting.conftest import make_model_campaign

pytestmark = pytest.mark.django_db


def test_each_saved_prompt_change_is_a_version_on_the_cards_and_in_the_tuning_report(model_sandbox):
    campaign = make_model_campaign()
    step = campaign.steps.get(number=1)
    make_lead(source="wpromote", company="Wpromote")
    run_pipeline(source="wpromote", limit=1, campaign_ref=campaign.ref, apply=True)

    step.prompt = "Open with the proof point."
    assert save_step(step) is False  # the templates did not change
    step.refresh_from_db()
    assert step.prompt_version == 2
    assert list(PromptVersion.objects.filter(step=step).values_list("number", "state")) == [(1, "retired"), (2, "active")]
    step.delay_days = 1
    save_step(step)  # no prompt change: no new version
    assert PromptVersion.objects.filter(step=step).count() == 2

    make_lead(source="wpromote", company="Globex")
    run_pipeline(source="wpromote", limit=1, campaign_ref=campaign.ref, apply=True)
    assert sorted(PendingEmail.objects.values_list("prompt_version", flat=True)) == [f"{campaign.ref}:s1:p1", f"{campaign.ref}:s1:p2"]

    rows = tuning_report().rows
    assert sorted((row.version, row.drafted) for row in rows) == [(f"{campaign.ref}:s1:p1", 1), (f"{campaign.ref}:s1:p2", 1)]


def test_rollback_puts_the_previous_version_back_in_one_step(db):
    campaign = make_model_campaign()
    step = campaign.steps.get(number=1)
    with pytest.raises(PromptError):
        rollback(step)
    first = step.prompt
    step.prompt = "Open with the proof point."
    save_step(step)

    restored = rollback(step)

    step.refresh_from_db()
    assert (restored.number, step.prompt_version, step.prompt) == (1, 1, first)
    assert PromptVersion.objects.get(step=step, number=2).state == "retired"
