"""Fixtures of the model drafter's tests: the model sandbox on loopback, and a campaign whose step 1 the model drafts."""

from __future__ import annotations

import pytest

from outreach.drafting.sandbox import ModelSandbox, ModelSandboxServer
from tests.dispatch.conftest import _roles  # noqa: F401 - role groups back after a transactional test's flush
from tests.factories import make_campaign

FACTS = """offer: A 30-day pilot of CAIO for one sales team
proof: Northwind cut review time by 40% in its first month
tone: Plain and short, no flattery
forbidden: guaranteed results"""


@pytest.fixture
def model_sandbox(settings):
    """The model sandbox in a thread of this process, on a free loopback port; the drafter points at it.

    A client timeout short enough that the timeout kind is quick, long enough that a loaded machine still
    answers an ordinary request within it; the sandbox holds a "timeout" longer than it.
    """
    server = ModelSandboxServer(ModelSandbox(timeout_seconds=5)).start()
    settings.MODEL_BASE_URL = server.base_url
    settings.MODEL_TIMEOUT = 1.5
    settings.MODEL_MAX_RETRIES = 2
    yield server.sandbox
    server.stop()


def make_model_campaign(**fields):
    """A campaign as the HoS sets one up for the model: facts written, step 1 drafted by the model."""
    campaign = make_campaign(facts=FACTS, **fields)
    step = campaign.steps.get(number=1)
    step.drafter = "model"
    step.prompt = "Introduce the pilot in under 120 words."
    step.save()
    return campaign


def fact_id(text: str) -> str:
    """The id of the campaign fact line `kind: text` (a digest of its text, stable across edits of other lines)."""
    from outreach.drafting.contract import campaign_fact_id

    kind, _, rest = text.partition(":")
    return campaign_fact_id(kind.strip(), rest.strip())


OFFER = fact_id(FACTS.splitlines()[0])
PROOF = fact_id(FACTS.splitlines()[1])
TONE = fact_id(FACTS.splitlines()[2])
