"""Inbound: what comes back from people and from GHL, and where an opt-out is applied.

* `views`: the two public endpoints, GHL's webhook and the unsubscribe page
  (`urls` holds the page's route; the webhook's is in caio.urls).
* `webhooks`: a delivery verified, stored, then applied once (bounces,
  complaints, unsubscribes, DND, replies, meetings); a refused one recorded
  within bounds (`outreach.reports.queue_facts.intake_facts` reads the
  intake's health from them for preflight).
* `replies`: what a reply says and what each classification does.
* `suppression`: `suppress_lead`, the one function that makes a lead
  uncontactable everywhere, whoever learned it (page, webhook, reply, person).

Read next: `outreach.eligibility` (how a suppressed lead is kept from every
card) and `ramp.stop_conditions` (what the evidence counts toward).
"""
