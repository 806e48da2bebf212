from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command

from outreach.models import CardStatus, CardTransition, Lead, PendingEmail


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_loads_cards_in_every_state_with_a_real_history(db):
    seed()

    states = set(PendingEmail.objects.values_list("status", flat=True))
    assert states == {choice.value for choice in CardStatus}
    assert 50 <= Lead.objects.count() <= 65
    assert set(Lead.objects.values_list("tier", flat=True)) == {"tier_1", "tier_2", "tier_3"}
    assert Lead.objects.filter(do_not_contact=True).exists()
    # Every non-pending card got where it is through recorded transitions.
    for card in PendingEmail.objects.exclude(status=CardStatus.PENDING):
        assert CardTransition.objects.filter(card=card).latest("id").to_status == card.status


def test_it_shows_many_pending_but_few_eligible(db):
    from outreach import review

    seed()

    split = review.queue_split()
    assert split["pending"] >= 30
    assert 1 <= split["eligible"] <= 3
    assert split["stale"] >= 15
    assert PendingEmail.objects.filter(status=CardStatus.PENDING, is_canary=True).count() >= 5


def test_it_is_idempotent(db):
    seed()
    counts = (Lead.objects.count(), PendingEmail.objects.count(), CardTransition.objects.count())

    output = seed()

    assert (Lead.objects.count(), PendingEmail.objects.count(), CardTransition.objects.count()) == counts
    assert "(0 new)" in output


def test_it_prints_logins_that_work(db, client):
    output = seed("--users")

    password = next(line.split()[1] for line in output.splitlines() if line.strip().startswith("hos "))
    assert client.login(username="hos", password=password)
    assert User.objects.get(username="hos").groups.filter(name="Head of Sales").exists()
    assert "caio_" in output  # the demo API token, shown once


def test_it_opens_the_demo_sending_window_only_on_a_new_policy(db):
    import datetime as dt

    from ramp.models import RampPolicy

    seed()
    assert (RampPolicy.get().window_start, RampPolicy.get().window_end) == (dt.time(0, 0), dt.time(23, 59))

    # An operator's own window is never overwritten by a later seed.
    RampPolicy.objects.filter(pk=1).update(window_start=dt.time(15, 0), window_end=dt.time(18, 0))
    seed()
    assert RampPolicy.get().window_start == dt.time(15, 0)


def test_its_sends_are_counted_on_the_ramp_days_they_were_claimed(db):
    from ramp.days import operating_date
    from ramp.models import RampDay

    seed()

    claimed = PendingEmail.objects.filter(queued_at__isnull=False)
    assert claimed.count() == 7  # 3 sent, queued, sending, unknown, failed
    for day in RampDay.objects.all():
        on_day = [card for card in claimed if operating_date(card.queued_at) == day.date]
        assert day.dispatched_count == len(on_day)
        assert day.sent_count == sum(card.status == CardStatus.SENT for card in on_day)
        assert day.dispatched_count <= day.cap


def test_it_leaves_tier_1_leads_for_the_pipeline_to_draft(db):
    seed()

    undrafted = Lead.objects.filter(tier="tier_1", cards__isnull=True, enrollments__isnull=True)
    assert undrafted.count() >= 2
