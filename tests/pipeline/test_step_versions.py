from __future__ import annotations

import pytest

from outreach.drafting.drafters import save_step
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def test_a_changed_template_is_a_new_version_whoever_saves_it():
    step = make_campaign().steps.get(number=1)

    step.delay_days = 2
    assert save_step(step) is False
    step.body_template += "\n\nP.S. Still keen?"
    assert save_step(step) is True
    step.refresh_from_db()
    # Only the template change counted, once.
    assert (step.template_version, step.delay_days) == (2, 2)


def test_only_a_change_of_the_normalised_text_is_a_new_version():
    step = make_campaign().steps.get(number=1)
    body = step.body_template

    step.body_template = body.replace("\n", "\r\n") + "  \r\n"
    step.subject_template += " "
    assert save_step(step) is False
    step.refresh_from_db()
    assert (step.template_version, step.body_template) == (1, body)
