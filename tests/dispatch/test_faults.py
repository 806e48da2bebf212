"""Faults on real parts (GHL sandbox process, Redis, worker processes): nothing is ever sent twice."""

from __future__ import annotations

import signal
from datetime import timedelta
from unittest import mock

import pytest
import redis

from outreach.sending import gates
from outreach.sending.reconcile import reconcile
from outreach.sending.select import EnqueueFailed, start_live_cycle
from outreach.models import CardTransition, DispatchAttempt, PendingEmail
from ramp.days import operating_date
from ramp.holds import raise_hold
from ramp.models import RampDay
from tests.dispatch.conftest import wait_until
from tests.dispatch.helpers import approved_card, green_gates, settled_by_reconcile
from tests.dispatch.test_end_to_end import assert_delivered_exactly_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

SEND = "conversations.send"


def _statuses(cards) -> list[str]:
    return [PendingEmail.objects.get(pk=card.pk).status for card in cards]


def test_a_429_storm_delivers_everything_once_honouring_retry_after(operator, processes, ghl_sandbox_process):
    green_gates(daily_cap=3)
    cards = [approved_card() for _ in range(3)]
    ghl_sandbox_process.control.add_fault(SEND, "rate_limit", count=4, retry_after=1)

    start_live_cycle(operator=operator)
    worker = processes.worker(scheduler=True)
    wait_until(lambda: _statuses(cards) == ["sent"] * 3, timeout=45, message="every card sent after the 429s")
    processes.stop(worker)

    assert_delivered_exactly_once(ghl_sandbox_process, cards)
    assert len(ghl_sandbox_process.control.deliveries()) == 3
    retries = DispatchAttempt.objects.filter(outcome="retry").order_by("started_at")
    assert retries.count() == 4 and all(r.http_status == 429 for r in retries)
    # Retry-After: 1 s means the next attempt of that card starts at least a second later.
    for retry in retries:
        following = DispatchAttempt.objects.filter(card=retry.card, started_at__gt=retry.started_at).order_by("started_at").first()
        assert following.started_at - retry.finished_at >= timedelta(seconds=1)
    day = RampDay.objects.get(date=operating_date())
    assert (day.dispatched_count, day.sent_count, day.error_count) == (3, 3, 0)


def test_5xx_and_timeouts_go_unknown_and_reconcile_settles_them_without_duplicates(operator, processes, ghl_sandbox_process):
    green_gates(daily_cap=4)
    cards = [approved_card() for _ in range(4)]
    control = ghl_sandbox_process.control
    # In job order: GHL recorded it / did not, for a 500 and for a timeout.
    control.add_fault(SEND, "error", status=500, count=1, deliver=True)
    control.add_fault(SEND, "error", status=502, count=1, deliver=False)
    control.add_fault(SEND, "timeout", delay=2.5, count=1, deliver=True)
    control.add_fault(SEND, "timeout", delay=2.5, count=1, deliver=False)

    start_live_cycle(operator=operator)
    processes.run_burst_worker(GHL_READ_TIMEOUT="1")

    assert _statuses(cards) == ["unknown"] * 4
    assert len(control.deliveries()) == 2
    assert RampDay.objects.get(date=operating_date()).error_count == 4

    report = reconcile(apply=True, grace=timedelta(0))
    assert sorted(report.sent) == [cards[0].pk, cards[2].pk]
    assert sorted(report.requeued) == [cards[1].pk, cards[3].pk]
    # A second reconcile has nothing left to settle and sends nothing.
    assert reconcile(apply=True, grace=timedelta(0)).sent == []

    processes.run_burst_worker()
    assert_delivered_exactly_once(ghl_sandbox_process, cards)
    assert len(control.deliveries()) == 4
    assert RampDay.objects.get(date=operating_date()).sent_count == 4


@pytest.mark.parametrize(
    ("fault", "ghl_recorded"),
    [({"mode": "latency", "delay": 20}, True), ({"mode": "timeout", "delay": 20}, False)],
    ids=["after-ghl-recorded-it", "before-ghl-recorded-it"],
)
def test_a_worker_killed_mid_send_leaves_sending_and_reconcile_never_duplicates(
    operator, processes, ghl_sandbox_process, fault, ghl_recorded
):
    green_gates(daily_cap=1)
    card = approved_card()
    control = ghl_sandbox_process.control
    control.add_fault(SEND, fault["mode"], delay=fault["delay"], count=1)

    start_live_cycle(operator=operator)
    worker = processes.worker(scheduler=False, GHL_READ_TIMEOUT="60")
    wait_until(lambda: _statuses([card]) == ["sending"], message="the send in flight")
    if ghl_recorded:
        wait_until(lambda: len(control.deliveries()) == 1, message="GHL to record the email")
    else:
        # The sandbox logs the send once it has taken the fault; from then on it holds the request unanswered.
        wait_until(lambda: any(r["endpoint"] == SEND for r in control.requests()), message="the send to reach GHL")
    processes.stop(worker, sig=signal.SIGKILL)

    # It should stay `sending`: nobody knows whether it went out.
    assert _statuses([card]) == ["sending"]
    # Reconcile runs on a schedule: a run may leave the card while GHL is still finishing the request
    # the dead worker made; a later run settles it, and none ever sends it twice.
    report = wait_until(lambda: settled_by_reconcile(card.pk), timeout=60, message="reconcile to settle the card")
    if ghl_recorded:
        assert report.sent == [card.pk]
    else:
        assert report.requeued == [card.pk]
        processes.run_burst_worker()
    assert_delivered_exactly_once(ghl_sandbox_process, [card])
    assert len(control.deliveries()) == 1


def test_a_hold_raised_while_jobs_are_queued_stops_everything_not_yet_in_flight(operator, processes, ghl_sandbox_process):
    green_gates(daily_cap=3)
    cards = [approved_card() for _ in range(3)]
    control = ghl_sandbox_process.control
    control.add_fault(SEND, "latency", delay=1.5, count=1)

    start_live_cycle(operator=operator)
    worker = processes.worker(scheduler=False, GHL_READ_TIMEOUT="10")
    # `sending` is set before the contact check; the email has left only once GHL records it (the latency
    # fault records it, then holds the answer). Acting before that races the job's own checks.
    wait_until(lambda: _statuses(cards)[0] == "sending", message="the first send in flight")
    wait_until(lambda: len(control.deliveries()) == 1, message="GHL to record the first email")
    raise_hold(reason="complaint received", raised_by="pto")
    wait_until(lambda: _statuses(cards) == ["sent", "approved", "approved"], message="the queued cards released")
    processes.stop(worker)

    # Only the email already in flight went out.
    assert len(control.deliveries()) == 1
    for card in cards[1:]:
        assert "complaint received" in CardTransition.objects.filter(card=card).last().reason
    day = RampDay.objects.get(date=operating_date())
    assert (day.dispatched_count, day.sent_count) == (1, 1)


@pytest.fixture
def on_private_redis(settings, private_redis):
    """Point this process's Redis users (gates, dispatch queue, limiter) at the private server."""
    import django_rq

    settings.REDIS_URL = private_redis.url

    def queue():
        return django_rq.get_queue("dispatch", connection=redis.Redis.from_url(private_redis.url), commit_mode="auto")

    with mock.patch("outreach.sending.queue.dispatch_queue", queue):
        yield private_redis


def test_redis_stopped_before_the_jobs_are_enqueued_loses_no_card(operator, processes, on_private_redis):
    green_gates(daily_cap=3)
    cards = [approved_card() for _ in range(2)]
    real_check = gates._redis_blockers

    def check_then_crash():
        blockers = real_check()
        on_private_redis.stop()  # Redis dies between the gate and the enqueue
        return blockers

    with mock.patch("outreach.sending.gates._redis_blockers", check_then_crash), pytest.raises(EnqueueFailed) as failed:
        start_live_cycle(operator=operator)

    assert f"REDIS_URL={on_private_redis.url}" in str(failed.value)
    assert _statuses(cards) == ["approved", "approved"]
    assert RampDay.objects.get(date=operating_date()).dispatched_count == 0

    # A worker started now stops with one clear line, no traceback.
    finished = processes.run("rqworker", "dispatch", "--burst", REDIS_URL=on_private_redis.url)
    assert finished.returncode == 1
    assert f"Redis is not reachable at REDIS_URL={on_private_redis.url}" in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout


def test_redis_stopped_mid_cycle_loses_no_card_and_sends_none_twice(operator, processes, ghl_sandbox_process, on_private_redis):
    green_gates(daily_cap=3)
    cards = [approved_card() for _ in range(3)]
    control = ghl_sandbox_process.control
    control.add_fault(SEND, "latency", delay=1.5, count=1)
    redis_env = {"REDIS_URL": on_private_redis.url, "GHL_READ_TIMEOUT": "10"}

    start_live_cycle(operator=operator)
    worker = processes.worker(scheduler=False, **redis_env)
    # `sending` is set before the contact check; the email has left only once GHL records it (the latency
    # fault records it, then holds the answer). Acting before that races the job's own checks.
    wait_until(lambda: _statuses(cards)[0] == "sending", message="the first send in flight")
    wait_until(lambda: len(control.deliveries()) == 1, message="GHL to record the first email")
    on_private_redis.stop()  # the queued jobs are gone with it
    worker.wait(timeout=60)
    assert worker.returncode != 0

    # No card is lost or marked sent without GHL having it.
    statuses = _statuses(cards)
    assert statuses[1:] == ["queued", "queued"]
    assert statuses[0] in ("sent", "sending")
    assert len(control.deliveries()) == 1

    on_private_redis.start()
    report = reconcile(apply=True, grace=timedelta(0))
    assert sorted(report.reenqueued) == [cards[1].pk, cards[2].pk]
    processes.run_burst_worker(**redis_env)

    assert_delivered_exactly_once(ghl_sandbox_process, cards)
    assert len(control.deliveries()) == 3
