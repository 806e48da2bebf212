"""Sending: claim approved cards, re-check them, send each once, settle the doubtful ones.

Everything that can make a wrong email go out is decided here, in plain
functions shared by the `dispatch`, `reconcile` and `verify_sent` commands,
the admin's dispatch console and the RQ job (`outreach.jobs.dispatch_card`):

* `select`: what a cycle may send now (`dry_run`) and the live claim
  (`start_live_cycle`), both from the cards' eligibility verdicts.
* `gates`: the live cycle's gates, one function for the command and the console.
* `job`: the job body (`send_card`).
* `render`: the email exactly as approved, with the card's marker.
* `reconcile`: `reconcile` and `verify_sent`, against GHL.
* `queue`: the RQ queue and job ids.

Ramp day counters are changed through `ramp.counters`, never here.
"""
