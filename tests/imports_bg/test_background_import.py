"""Confirming a large lead file: kept, enqueued, imported in chunks by the job, progress on its page, exactly once."""

from __future__ import annotations

from unittest import mock

import django_rq
import pytest
from django.urls import reverse

from outreach.leads import imports
from outreach.models import Lead, LeadImport, LeadImportState
from outreach.leads.resources import CanonicalEmailLoader
from tests.factories import make_lead, make_user
from tests.imports_bg.helpers import confirm, lead_file, preview, text_of

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def small_limits(settings):
    """A background import from 20 rows, in chunks of 7: every path of a large file, at a test's size."""
    settings.LEAD_IMPORT_BACKGROUND_ROWS = 20
    settings.LEAD_IMPORT_CHUNK_ROWS = 7


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("default").job_ids


def test_confirming_a_large_file_enqueues_it_and_shows_its_progress_page(client, hos, redis_conn, small_limits, django_capture_on_commit_callbacks):
    client.force_login(hos)
    shown = preview(client, lead_file(30))
    assert "confirming starts the import in the background" in text_of(shown)

    with django_capture_on_commit_callbacks(execute=True):
        answer = confirm(client, shown)

    lead_import = LeadImport.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("admin:outreach_leadimport_change", args=[lead_import.pk])
    assert (lead_import.state, lead_import.rows_total, lead_import.rows_done, lead_import.file_name) == ("queued", 30, 0, "leads.csv")
    assert lead_import.created_by == hos and len(lead_import.digest) == 64 and lead_import.content == lead_file(30)
    assert not Lead.objects.exists(), "nothing is written before the job runs"
    assert queued_job_ids() == [f"lead-import-{lead_import.pk}"]

    page = client.get(answer["Location"])
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in page.content.decode()
    assert "State: queued (waiting for a worker)" in text_of(page) and "0 of 30 rows done (0%)" in text_of(page)

    # The same upload confirmed again (a double click, the back button): the same import, no second job.
    again = confirm(client, shown)
    assert again["Location"] == answer["Location"]
    assert LeadImport.objects.count() == 1 and queued_job_ids() == [f"lead-import-{lead_import.pk}"]


def test_the_job_imports_in_chunks_and_the_page_shows_the_summary_when_done(client, hos, redis_conn, small_limits):
    make_lead(email="lead3@company3.example", first_name="Stored")
    lead_import, _ = imports.start_import(text=lead_file(30, bad_tier_every=10), file_name="big.csv", upload_key="k1", rows_total=30, user=hos)
    progress: list[int] = []
    real_chunk = imports._import_next_chunk

    def watched_chunk(*args):
        progress.append(LeadImport.objects.get(pk=lead_import.pk).rows_done)
        return real_chunk(*args)

    with mock.patch("outreach.leads.imports._import_next_chunk", watched_chunk):
        assert imports.run_import(lead_import.pk) == "done"

    lead_import.refresh_from_db()
    assert progress == [0, 7, 14, 21, 28]
    assert (lead_import.state, lead_import.rows_done) == ("done", 30)
    assert lead_import.started_at is not None and lead_import.finished_at is not None
    summary = lead_import.summary
    assert (summary["rows_read"], summary["new"], summary["in_error"]) == (30, 26, 4)
    assert summary["problems"] == {"tier: Unknown tier “…”: use one of tier_1, tier_2, tier_3.": 3, "email: Duplicate: a lead with “…” already exists; it is left unchanged.": 1}
    assert [entry["row"] for entry in summary["error_rows"]] == [1, 4, 11, 21]
    assert Lead.objects.count() == 27
    assert Lead.objects.get(email="lead3@company3.example").first_name == "Stored"

    client.force_login(hos)
    page = client.get(reverse("admin:outreach_leadimport_change", args=[lead_import.pk]))
    text = text_of(page)
    assert "http-equiv" not in page.content.decode(), "a finished import stops refreshing"
    assert "State: done" in text and "30 of 30 rows done (100%)" in text
    assert "Import finished: 26 new leads written; 4 rows with errors were not imported." in text
    assert "Rows read 30 New 26" in text and "Unknown tier “tier_9”" in text


def test_a_run_cut_off_mid_file_resumes_after_the_last_chunk_and_writes_each_row_once(hos, redis_conn, small_limits):
    text = lead_file(30, bad_tier_every=10) + "Lead5@company5.example,Again,Dup,X,tier_1,bench\n"
    lead_import, _ = imports.start_import(text=text, file_name="big.csv", upload_key="k2", rows_total=31, user=hos)
    real_add = imports.ImportSummary.add
    calls = []

    def lost_worker(self, other):
        calls.append(other)
        if len(calls) == 3:
            # As if the worker were killed inside the third chunk's transaction: not an Exception, nothing catches it.
            raise KeyboardInterrupt
        return real_add(self, other)

    with mock.patch.object(imports.ImportSummary, "add", lost_worker), pytest.raises(KeyboardInterrupt):
        imports.run_import(lead_import.pk)

    lead_import.refresh_from_db()
    assert (lead_import.state, lead_import.rows_done) == ("running", 14)
    assert Lead.objects.count() == 12, "the third chunk was rolled back with its progress"

    assert imports.run_import(lead_import.pk) == "done"
    assert imports.run_import(lead_import.pk) == "done", "a finished import is not run again"

    lead_import.refresh_from_db()
    assert Lead.objects.count() == 27
    assert (lead_import.summary["rows_read"], lead_import.summary["new"], lead_import.summary["in_error"]) == (31, 27, 4)
    # The rows before the cut still make a later copy of their address a duplicate within the file.
    assert lead_import.summary["error_rows"][-1] == {"row": 31, "problems": [["email", "Duplicate of row 6 in this file."]]}


def test_a_file_the_job_cannot_read_fails_with_its_sentence_and_writes_nothing(client, hos, redis_conn, small_limits):
    lead_import, _ = imports.start_import(text="mail,tier\n" + "x@y.example,tier_1\n" * 25, file_name="bad.csv", upload_key="k3", rows_total=25)

    assert imports.run_import(lead_import.pk) == "failed"

    lead_import.refresh_from_db()
    assert lead_import.state == LeadImportState.FAILED and lead_import.error.startswith("The file has no “email” column")
    assert not Lead.objects.exists()
    client.force_login(hos)
    page = client.get(reverse("admin:outreach_leadimport_change", args=[lead_import.pk]))
    assert "http-equiv" not in page.content.decode()
    assert "State: failed" in text_of(page) and "The import failed: The file has no “email” column" in text_of(page)


def test_the_list_of_imports_is_the_history_and_each_links_to_its_progress(client, hos, redis_conn, small_limits):
    first, _ = imports.start_import(text=lead_file(21), file_name="first.csv", upload_key="h1", rows_total=21, user=hos)
    imports.start_import(text=lead_file(22), file_name="second.csv", upload_key="h2", rows_total=22, user=hos)
    imports.run_import(first.pk)
    client.force_login(hos)

    page = client.get(reverse("admin:outreach_leadimport_changelist"))

    text = text_of(page)
    assert text.index("second.csv") < text.index("first.csv"), "newest first"
    assert "queued" in text and "done" in text
    assert reverse("admin:outreach_leadimport_change", args=[first.pk]) in page.content.decode()


def test_a_file_at_the_threshold_is_still_imported_at_once(client, hos, redis_conn, small_limits):
    client.force_login(hos)

    done = confirm(client, preview(client, lead_file(20)), follow=True)

    assert "Import finished: 20 new leads written." in text_of(done)
    assert Lead.objects.count() == 20 and not LeadImport.objects.exists() and queued_job_ids() == []


def test_a_confirmation_whose_upload_is_gone_says_so(client, hos, redis_conn, small_limits):
    client.force_login(hos)
    shown = preview(client, lead_file(3))
    confirm(client, shown)

    again = confirm(client, shown, follow=True)

    assert "This upload is no longer here (it was imported already, or it expired): upload the file again." in text_of(again)
    assert Lead.objects.count() == 3


def test_a_lead_stored_by_someone_else_during_a_chunk_is_refused_as_a_duplicate_not_a_failure(hos, redis_conn, small_limits):
    make_lead(email="lead9@company9.example", first_name="Stored meanwhile")
    lead_import, _ = imports.start_import(text=lead_file(21), file_name="big.csv", upload_key="race", rows_total=21, user=hos)
    real_init = CanonicalEmailLoader.__init__
    loaders = []

    def late_loader(self, resource, dataset=None):
        real_init(self, resource, dataset)
        loaders.append(self)
        if len(loaders) == 2:
            # The second chunk's lookup ran before the other writer's commit: it does not know lead9 yet.
            self.leads.pop("lead9@company9.example")
            self.identities.stored_leads["lead9@company9.example"] = []

    with mock.patch.object(CanonicalEmailLoader, "__init__", late_loader):
        assert imports.run_import(lead_import.pk) == "done"

    lead_import.refresh_from_db()
    # The chunk's check before writing finds it, and the chunk is read again once.
    assert len(loaders) == 4
    assert Lead.objects.get(email="lead9@company9.example").first_name == "Stored meanwhile"
    assert Lead.objects.count() == 21
    assert (lead_import.summary["new"], lead_import.summary["in_error"]) == (20, 1)
    assert lead_import.summary["error_rows"] == [
        {"row": 10, "problems": [["email", "Duplicate: a lead with lead9@company9.example already exists; it is left unchanged."]]}
    ]


def test_an_import_whose_job_is_gone_is_resumed_from_the_list_and_one_still_queued_is_left_alone(client, hos, redis_conn, small_limits, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stalled, _ = imports.start_import(text=lead_file(30), file_name="stalled.csv", upload_key="k-stalled", rows_total=30, user=hos)
        waiting, _ = imports.start_import(text=lead_file(25, start=100), file_name="waiting.csv", upload_key="k-waiting", rows_total=25, user=hos)
    # The stalled import's worker died and its retries are used up: its job is gone from RQ.
    queue = django_rq.get_queue("default")
    queue.remove(imports.job_id_for(stalled.pk))
    queue.fetch_job(imports.job_id_for(stalled.pk)).delete()
    assert queued_job_ids() == [imports.job_id_for(waiting.pk)]

    client.force_login(hos)
    page = client.get(reverse("admin:outreach_leadimport_change", args=[stalled.pk]))
    assert "Resume the selected imports that stopped" in text_of(page)
    answer = client.post(
        reverse("admin:outreach_leadimport_changelist"),
        {"action": "resume_selected", "_selected_action": [stalled.pk, waiting.pk]},
        follow=True,
    )
    shown = text_of(answer)
    assert "Put back on the queue: stalled.csv." in shown
    assert "Left waiting.csv alone: its job is queued." in shown
    assert queued_job_ids() == [imports.job_id_for(waiting.pk), imports.job_id_for(stalled.pk)]

    assert imports.run_import(stalled.pk) == "done"
    stalled.refresh_from_db()
    assert (stalled.rows_done, Lead.objects.count()) == (30, 30), "the resumed import wrote each row once"

    # A finished import is never put back.
    assert imports.resume([stalled]).left == [(stalled, "already done")]


def test_only_whoever_may_import_leads_may_resume_an_import(client, hos, redis_conn, small_limits):
    lead_import, _ = imports.start_import(text=lead_file(30), file_name="x.csv", upload_key="k-perm", rows_total=30, user=hos)
    client.force_login(make_user("staff-without-role"))
    answer = client.post(reverse("admin:outreach_leadimport_changelist"), {"action": "resume_selected", "_selected_action": [lead_import.pk]})
    assert answer.status_code == 403

