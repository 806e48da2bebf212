"""Bad input tried on purpose: each gets a clear error naming what is wrong, and nothing stored is lost.

The rest of the hostile inputs are proved where their code lives (see the
README's Guarantees): BOM, quoted line breaks, invalid UTF-8 and control
characters in tests/compliance/test_spreadsheet.py; duplicates differing in
case and space in tests/compliance/test_hostile_spellings.py; formula cells in
tests/compliance/test_exports.py; forged, stale and replayed webhooks in
tests/webhooks/test_receive.py; header injection in tests/ghl/test_client.py
(subjects) and tests/sending/test_from_line.py (sender names);
settings in tests/caio/test_settings.py; the API's schema in tests/api.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compliance.spreadsheet import MAX_CELL_CHARS, ROW_PROBLEM_COLUMN, CheckedCSV, ImportFileError
from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach.models import WebhookDelivery, WebhookRefusal

KEY = Ed25519PrivateKey.generate()
SIGNER = WebhookSigner(KEY)


def rows(data: bytes) -> list[dict]:
    return list(CheckedCSV().create_dataset(data).dict)


@pytest.mark.parametrize(
    "data, name", [(b"email;company\na@x.example;Acme\n", "semicolons"), (b"email\tcompany\na@x.example\tAcme\n", "tabs")]
)
def test_a_file_with_another_delimiter_is_refused_naming_it(data, name):
    with pytest.raises(ImportFileError, match=f"separated by {name}"):
        rows(data)


def test_a_huge_cell_is_an_error_on_its_own_row_while_the_others_read():
    huge = "x" * (MAX_CELL_CHARS + 1)
    read = rows(f"email,company\na@x.example,Acme\nb@x.example,{huge}\nc@x.example,Cee\n".encode())

    assert [row["email"] for row in read] == ["a@x.example", "b@x.example", "c@x.example"]
    assert f"has {MAX_CELL_CHARS + 1:,} characters, more than {MAX_CELL_CHARS:,}" in read[1][ROW_PROBLEM_COLUMN]
    assert read[1]["company"] == ""  # the huge cell is not carried on
    assert read[0][ROW_PROBLEM_COLUMN] == read[2][ROW_PROBLEM_COLUMN] == ""


def test_ten_thousand_rows_are_read_each_with_its_own_verdict():
    lines = ["email,company"] + [f"lead{n}@x{n}.example,Company {n}" for n in range(10_000)]
    lines[5_001] = "broken@x.example"  # one ragged row in the middle
    read = rows(("\n".join(lines) + "\n").encode())

    assert len(read) == 10_000
    problems = [n for n, row in enumerate(read) if row[ROW_PROBLEM_COLUMN]]
    assert problems == [5_000]


@pytest.mark.django_db
def test_an_oversized_webhook_is_refused_with_413_and_stores_nothing(client, settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(KEY)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    stored = WebhookDelivery.objects.create(dedupe_key="kept", event_type="LCEmailStats", payload={})
    payload = {"type": "LCEmailStats", "locationId": settings.GHL_LOCATION_ID, "webhookId": "big", "padding": "x" * 100_000}
    body = compact_json(payload)

    response = client.post("/webhooks/ghl/", data=body, content_type="application/json", headers=SIGNER.headers(body))

    assert response.status_code == 413
    assert "larger than DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [stored.pk]
    assert not WebhookRefusal.objects.exists()
