"""The import preview: a summary and the rows in error, small however large the file; nothing stored."""

from __future__ import annotations

import re

import pytest

from compliance.spreadsheet import ERROR_ROWS_LISTED, GOOD_ROWS_SAMPLED
from outreach.models import Lead, LeadImport
from tests.factories import make_lead
from tests.imports_bg.helpers import lead_file, preview, text_of

pytestmark = pytest.mark.django_db

# The page a 10,000-row file previews into; it was 8 MB when every row was rendered.
MAX_PREVIEW_BYTES = 200_000


# Slow: a file of 10,000 rows, read and checked in full; the whole suite runs it, `bin/test --fast` leaves it out.
@pytest.mark.slow
def test_a_10000_row_preview_is_a_small_summary_listing_only_the_rows_in_error(client, hos):
    make_lead(email="lead7@company7.example", first_name="Stored")
    client.force_login(hos)

    response = preview(client, lead_file(10_000, bad_tier_every=1000))

    assert response.status_code == 200
    assert len(response.content) < MAX_PREVIEW_BYTES, f"{len(response.content):,} bytes"
    text = text_of(response)
    assert "Rows read 10000 New 9989 Updated 0 Skipped (unchanged) 0 In error (will not be imported) 11" in text
    # Counted by problem, the values blanked so that one problem is one line.
    assert "tier: Unknown tier “…”: use one of tier_1, tier_2, tier_3. 10" in text
    assert "email: Duplicate: a lead with “…” already exists; it is left unchanged. 1" in text
    rows = re.findall(r'<tr>\s*<td>(\d+)</td>\s*<td class="errors">(.*?)</td>', response.content.decode(), re.S)
    assert [int(number) for number, _ in rows] == [1, 8, 1001, 2001, 3001, 4001, 5001, 6001, 7001, 8001, 9001]
    assert "Unknown tier “tier_9”" in rows[2][1] and "lead7@company7.example already exists" in rows[1][1]
    assert len(re.findall(r'<tr class="new">', response.content.decode())) == GOOD_ROWS_SAMPLED
    assert "A sample of the good rows" in text
    assert "confirming starts the import in the background" in text
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Stored"]
    assert not LeadImport.objects.exists()


def test_a_file_of_errors_only_lists_the_first_rows_and_counts_every_one(client, hos, settings):
    client.force_login(hos)

    response = preview(client, lead_file(2_000, bad_tier_every=1))

    text = text_of(response)
    assert len(response.content) < MAX_PREVIEW_BYTES
    assert "In error (will not be imported) 2000" in text
    assert "tier: Unknown tier “…”: use one of tier_1, tier_2, tier_3. 2000" in text
    assert len(re.findall(r'<td class="errors">', response.content.decode())) == ERROR_ROWS_LISTED
    assert f"{2000 - ERROR_ROWS_LISTED} more rows in error are counted above but not listed" in text
    assert "confirm_form" not in response.context
    assert not Lead.objects.exists()


def test_a_small_file_lists_all_its_good_rows_and_no_background_note(client, hos):
    client.force_login(hos)

    response = preview(client, lead_file(3))

    text = text_of(response)
    assert "Rows that will be imported" in text and "A sample" not in text
    assert len(re.findall(r'<tr class="new">', response.content.decode())) == 3
    assert "in the background" not in text
