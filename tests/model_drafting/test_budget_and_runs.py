"""The daily budget stops model drafting; a drafting run is an RQ job, done by a real worker, with a progress page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from outreach.drafting.pipeline import run_pipeline
from outreach.models import DraftingRun, ModelCall, PendingEmail
from tests.dispatch.conftest import ProcessEnv
from tests.factories import make_lead
from tests.imports_bg.helpers import text_of
from tests.model_drafting.conftest import make_model_campaign


@pytest.mark.django_db
def test_the_daily_budget_stops_drafting_at_the_limit_with_a_clear_message(model_sandbox, settings):
    settings.MODEL_CONCURRENCY = 1
    campaign = make_model_campaign()
    leads = [make_lead(source="wpromote", company=f"Company{n}") for n in range(6)]
    # The first group's cost spends it: the budget is checked before each group (4 leads at concurrency 1).
    settings.MODEL_DAILY_BUDGET = 0.000001

    report = run_pipeline(source="wpromote", limit=6, campaign_ref=campaign.ref, apply=True)

    assert len(report.drafted) == 4 and ModelCall.objects.count() == 4
    assert [error.lead_id for error in report.errors] == [lead.pk for lead in leads[4:]]
    spent = sum(call.cost for call in ModelCall.objects.all())
    for error in report.errors:
        assert f"The daily model budget is reached: ${spent:.4f} spent of $0.00 today" in error.message
    assert sum(model_sandbox.stats.values()) == 4  # nothing was asked of the model past the limit

    # A new day's budget, or a raised one, lets drafting go on.
    settings.MODEL_DAILY_BUDGET = 1.0
    report = run_pipeline(source="wpromote", limit=6, campaign_ref=campaign.ref, apply=True)
    assert len(report.drafted) == 2 and PendingEmail.objects.count() == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.slow
def test_a_drafting_run_is_an_rq_job_with_a_progress_page(model_sandbox, settings, tmp_path, redis_conn, client, operator):
    campaign = make_model_campaign()
    for n in range(6):
        make_lead(source="wpromote", company=f"Company{n}")
    model_sandbox.configure({"script": ["ok", "banned_phrase", "banned_phrase", "banned_phrase"]})
    client.force_login(operator)

    answer = client.post(
        reverse("admin:outreach_draftingrun_add"),
        {"campaign": campaign.pk, "source": "wpromote", "limit": 6, "mode": "production", "concurrency": 1},
    )
    run = DraftingRun.objects.get()
    assert answer["Location"] == reverse("admin:outreach_draftingrun_change", args=[run.pk])
    assert "State: queued (waiting for a worker)" in text_of(client.get(answer["Location"]))

    worker = ProcessEnv(settings, tmp_path)
    process = worker.start("rqworker", settings.DRAFTING_QUEUE, "--burst", name="draft-worker", MODEL_BASE_URL=settings.MODEL_BASE_URL)
    assert process.wait(timeout=120) == 0

    run.refresh_from_db()
    assert (run.state, run.leads_done, run.drafted) == ("done", 6, 5)
    [error] = run.errors
    assert "banned phrase" in error["message"]
    page = client.get(answer["Location"])
    assert "6 of 6 leads done (100%): 5 cards, 1 drafting error" in text_of(page) and b"http-equiv" not in page.content
    assert PendingEmail.objects.filter(drafter="model").count() == 5
