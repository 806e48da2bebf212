"""The template drafter: strict fields, locked-down tags, plain text."""

from __future__ import annotations

import pytest

from outreach.drafting.drafters import DraftingError, TemplateDrafter, preview, sample_lead, template_version_label
from outreach.models import CadenceStep, Campaign


def step_with(body: str, subject: str = "Hello {{ lead.first_name }}") -> CadenceStep:
    campaign = Campaign(ref="spring", tier="tier_1", classifier="outbound_tier_1")
    return CadenceStep(campaign=campaign, number=2, subject_template=subject, body_template=body, template_version=3)


def draft(body: str, subject: str = "Hello {{ lead.first_name }}", **lead_fields):
    lead = sample_lead()
    for name, value in lead_fields.items():
        setattr(lead, name, value)
    return TemplateDrafter().draft(lead, step_with(body, subject))


def test_it_renders_lead_fields_and_the_sender_as_plain_text(settings):
    settings.SENDER_NAME = "Alex Rivera"

    result = draft("Hi {{ lead.first_name }} at {{ lead.company }} & O'Brien <3\n\n{{ sender.name }}\r\n", company="R&D Co")

    assert result.subject == "Hello Celia"
    # Plain text: nothing is HTML-escaped; line endings are normalised; trailing space trimmed.
    assert result.body == "Hi Celia at R&D Co & O'Brien <3\n\nAlex Rivera"


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_field_is_a_drafting_error_not_an_empty_string(value):
    with pytest.raises(DraftingError, match=r"step 2 body: \{\{ lead.company \}\} is missing or empty for celia"):
        draft("Hi {{ lead.first_name }} at {{ lead.company }}", company=value)


def test_an_unknown_field_is_a_drafting_error():
    with pytest.raises(DraftingError, match=r"step 2 subject: \{\{ lead.nickname \}\} is missing"):
        draft("Hi", subject="Hey {{ lead.nickname }}")


def test_a_filter_cannot_hide_a_missing_field():
    with pytest.raises(DraftingError, match="lead.company"):
        draft('Hi {{ lead.company|default:"there" }}', company="")


def test_optional_fields_are_written_with_if_or_firstof():
    body = '{% firstof lead.nickname lead.first_name "there" %}{% if lead.title %}, {{ lead.title }}{% endif %}'

    assert draft(body, title="").body == "Celia"
    assert draft(body).body == "Celia, VP Marketing"


@pytest.mark.parametrize(
    "body",
    ['{% include "admin/base.html" %}', "{% load static %}", "{% debug %}", '{% extends "x" %}', "{% now 'Y' %}"],
)
def test_it_refuses_tags_outside_the_allowlist(body):
    with pytest.raises(DraftingError, match="is not allowed in email templates"):
        draft(body)


@pytest.mark.parametrize("body", ["{{ lead._values }}", "{% if %}{% endif %}", "{% if lead.title %}no end"])
def test_a_broken_template_is_a_drafting_error(body):
    with pytest.raises(DraftingError, match="template error"):
        draft(body)


def test_methods_of_the_context_are_not_reachable():
    with pytest.raises(DraftingError, match="lead.items"):
        draft("{{ lead.items }}")


def test_an_empty_result_is_a_drafting_error():
    with pytest.raises(DraftingError, match="rendered empty"):
        draft("{% if lead.nickname %}x{% endif %}")


def test_it_labels_the_template_version():
    step = step_with("x")
    assert template_version_label(step.campaign, step) == "spring:s2:v3"


def test_preview_returns_the_draft_or_the_error():
    assert preview(step_with("Hi {{ lead.first_name }}")).body == "Hi Celia"
    assert isinstance(preview(step_with("Hi {{ lead.nickname }}")), DraftingError)
