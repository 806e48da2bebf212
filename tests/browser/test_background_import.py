"""A large lead file in a real browser: upload, the summary, confirm, the progress page refreshing itself, done."""

from __future__ import annotations

import pytest

from outreach.models import Lead, LeadImport
from outreach.roles import HEAD_OF_SALES
from tests.dispatch.conftest import ProcessEnv
from tests.factories import make_lead, make_user
from tests.imports_bg.conftest import import_worker
from tests.imports_bg.helpers import lead_file

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def spawner(settings, tmp_path, redis_conn):
    spawned = ProcessEnv(settings, tmp_path)
    yield spawned
    spawned.stop_all()


def test_a_large_file_is_summarised_then_imported_in_the_background_with_progress(page, live_server, login, screenshots, spawner, settings):
    settings.LEAD_IMPORT_BACKGROUND_ROWS = 100
    make_lead(email="lead2@company2.example", first_name="Stored")
    login(make_user("celia", role=HEAD_OF_SALES))

    page.goto(f"{live_server.url}/admin/outreach/lead/import/")
    page.set_input_files("#id_import_file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": lead_file(400, bad_tier_every=100).encode()}])
    page.select_option("#id_format", label="csv")
    page.click("#content input[type=submit]")
    page.wait_for_selector("#import-summary")

    page.screenshot(path=str(screenshots / "import-large-summary.png"), full_page=True)
    assert " ".join(page.locator("#import-summary").inner_text().split()) == (
        "Rows read 400 New 395 Updated 0 Skipped (unchanged) 0 In error (will not be imported) 5"
    )
    assert [row.split("\t")[0] for row in page.locator("#import-errors tbody tr").all_inner_texts()] == ["1", "3", "101", "201", "301"]
    assert "confirming starts the import in the background" in page.locator("#import-in-background").inner_text()

    page.click("input[type=submit][value='Confirm import']")
    page.wait_for_selector('#lead-import[data-state="queued"]')
    assert "0 of 400 rows done" in page.locator("#import-progress").inner_text()
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Stored"]

    import_worker(spawner)
    # The page reloads itself (a meta refresh, no script) until the import ends.
    page.wait_for_selector('#lead-import[data-state="done"]', timeout=120_000)

    page.screenshot(path=str(screenshots / "import-large-done.png"), full_page=True)
    assert "400 of 400 rows done (100%)" in page.locator("#import-progress").inner_text()
    assert page.locator("#import-done").inner_text() == "Import finished: 395 new leads written; 5 rows with errors were not imported."
    assert Lead.objects.count() == 396 and LeadImport.objects.get().state == "done"
