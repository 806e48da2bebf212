"""A chunk's rows are checked against one reading of its mailboxes' leads and opt-outs (outreach.models.KnownIdentities).

Each row must still get what a check of that row alone gives: the same
duplicates, the same recorded opt-outs carried onto the new lead, in the
preview and in the background job; and what someone stores while a chunk is
being checked is not missed.
"""

from __future__ import annotations

from unittest import mock

import pytest

from outreach.inbound.suppression import record_opt_out
from outreach.leads import imports
from outreach.leads.resources import CanonicalEmailLoader
from outreach.models import Lead
from tests.factories import make_lead
from tests.imports_bg.helpers import HEADER, lead_file, preview

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.postgres]

# Rows 1-5 fall in the first chunk (of 7): their mailboxes collide with each other or with what is stored.
COLLIDING_ROWS = [
    "Same@Twice.example,A,One,X,tier_1,bench",
    "same+promo@twice.example,A,Two,X,tier_1,bench",
    "OptOut+list@Quiet.example,B,Three,X,tier_1,bench",
    "pair+new@twin.example,C,Four,X,tier_1,bench",
    "first.last@googlemail.com,D,Five,X,tier_1,bench",
]
EXPECTED_ERROR_ROWS = [
    {"row": 2, "problems": [["email", "Duplicate of row 1 in this file."]]},
    {
        "row": 4,
        "problems": [
            # The row's loader found pair@; the lead's own check names the other stored spelling.
            ["email", "Duplicate: a lead with pair@twin.example already exists; it is left unchanged."],
            ["email", "Duplicate: a lead with pair+old@twin.example already exists; it is left unchanged."],
        ],
    },
]


@pytest.fixture
def small_limits(settings):
    settings.LEAD_IMPORT_BACKGROUND_ROWS = 20
    settings.LEAD_IMPORT_CHUNK_ROWS = 7


@pytest.fixture
def stored_identities(db):
    # Two stored spellings of one mailbox (an identity collision a person has yet to settle).
    make_lead(email="pair@twin.example")
    make_lead(email="pair+old@twin.example")
    # Opt-outs of mailboxes no lead has yet: the lead created later enters suppressed.
    record_opt_out("optout@quiet.example", reason="unsubscribed", source="unsubscribe_page")
    record_opt_out("OPTOUT+x@quiet.example", reason="complained", source="ghl")
    record_opt_out("firstlast@gmail.com", reason="bounced", source="ghl")


def colliding_file() -> str:
    return "\n".join([HEADER, *COLLIDING_ROWS, *lead_file(20).splitlines()[1:]]) + "\n"


def suppression_of(email: str) -> tuple:
    lead = Lead.objects.get(email=email)
    return (lead.unsubscribed_at is not None, lead.bounced_at is not None, lead.do_not_contact, lead.do_not_contact_reason)


def test_the_preview_refuses_and_suppresses_colliding_rows_as_each_row_alone_would(client, hos, stored_identities):
    client.force_login(hos)
    summary = preview(client, colliding_file()).context["import_summary"]

    assert (summary.rows_read, summary.new, summary.in_error) == (25, 23, 2)
    assert summary.error_rows == EXPECTED_ERROR_ROWS


def test_the_job_refuses_and_suppresses_colliding_rows_of_one_chunk_as_each_row_alone_would(hos, redis_conn, small_limits, stored_identities):
    lead_import, _ = imports.start_import(text=colliding_file(), file_name="c.csv", upload_key="collide", rows_total=25, user=hos)

    assert imports.run_import(lead_import.pk) == "done"

    lead_import.refresh_from_db()
    assert (lead_import.summary["new"], lead_import.summary["in_error"]) == (23, 2)
    assert lead_import.summary["error_rows"] == EXPECTED_ERROR_ROWS
    assert suppression_of("optout+list@quiet.example") == (True, False, True, "spam complaint")
    assert suppression_of("first.last@googlemail.com") == (False, True, False, "")
    assert suppression_of("same@twice.example") == (False, False, False, "")
    assert not Lead.objects.filter(email="same+promo@twice.example").exists()


def _second_chunk_read_before(key: str):
    """The second chunk's reading of its mailboxes ran just before another writer committed something of `key`."""
    real_init = CanonicalEmailLoader.__init__
    loaders = []

    def late_loader(self, resource, dataset=None):
        real_init(self, resource, dataset)
        loaders.append(self)
        if len(loaders) == 2:
            self.leads.pop(key, None)
            self.identities.stored_leads[key] = []
            self.identities.opt_outs[key] = []

    return mock.patch.object(CanonicalEmailLoader, "__init__", late_loader), loaders


def test_an_opt_out_recorded_while_a_chunk_is_checked_reaches_its_new_lead(hos, redis_conn, small_limits):
    record_opt_out("lead9+news@company9.example", reason="unsubscribed", source="unsubscribe_page")
    lead_import, _ = imports.start_import(text=lead_file(21), file_name="big.csv", upload_key="race-opt-out", rows_total=21, user=hos)
    patch, loaders = _second_chunk_read_before("lead9@company9.example")

    with patch:
        assert imports.run_import(lead_import.pk) == "done"

    lead_import.refresh_from_db()
    assert len(loaders) == 4, "the second chunk was read again once"
    assert Lead.objects.count() == 21 and lead_import.summary["new"] == 21
    assert Lead.objects.get(email="lead9@company9.example").unsubscribed_at is not None


def test_another_spelling_of_a_mailbox_stored_while_a_chunk_is_checked_makes_its_row_a_duplicate(hos, redis_conn, small_limits):
    make_lead(email="lead9+crm@company9.example", first_name="Stored meanwhile")
    lead_import, _ = imports.start_import(text=lead_file(21), file_name="big.csv", upload_key="race-spelling", rows_total=21, user=hos)
    patch, loaders = _second_chunk_read_before("lead9@company9.example")

    with patch:
        assert imports.run_import(lead_import.pk) == "done"

    lead_import.refresh_from_db()
    assert len(loaders) == 4, "the second chunk was read again once"
    assert not Lead.objects.filter(email="lead9@company9.example").exists()
    assert (lead_import.summary["new"], lead_import.summary["in_error"]) == (20, 1)
    assert lead_import.summary["error_rows"] == [
        {"row": 10, "problems": [["email", "Duplicate: a lead with lead9+crm@company9.example already exists; it is left unchanged."]]}
    ]
