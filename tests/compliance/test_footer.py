from __future__ import annotations

import pytest

from compliance.footer import BadUnsubscribeToken, footer_for_lead, read_unsubscribe_token, unsubscribe_token, unsubscribe_url


def test_it_round_trips_a_lead_id_through_the_token():
    assert read_unsubscribe_token(unsubscribe_token(42)) == 42


@pytest.mark.parametrize("token", ["", "42", "42:forged", "43" + unsubscribe_token(42)[2:], unsubscribe_token(42)[:-1]])
def test_it_refuses_a_forged_or_damaged_token(token):
    with pytest.raises(BadUnsubscribeToken):
        read_unsubscribe_token(token)


def test_it_builds_the_link_from_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://caio.example/"

    assert unsubscribe_url(7) == f"https://caio.example/unsubscribe/{unsubscribe_token(7)}/"


def test_it_builds_the_same_footer_for_a_lead_every_time(settings):
    settings.OPT_OUT_LINE = "Reply STOP to unsubscribe."
    settings.SENDER_POSTAL_ADDRESS = "1 Main St, Austin, TX"

    footer = footer_for_lead(7)

    assert footer == footer_for_lead(7) != footer_for_lead(8)
    assert "Reply STOP to unsubscribe." in footer
    assert footer.endswith("1 Main St, Austin, TX")
    assert unsubscribe_url(7) in footer
