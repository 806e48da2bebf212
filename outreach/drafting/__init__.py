"""Drafting: turn leads into pending cards, step by step; nothing here sends.

* `drafters`: the `Drafter` protocol and the template drafter (a lead and a
  step in, a subject and a body out), and the step's template versions.
* `pipeline`: `run_pipeline` enrolls a source's leads and drafts step 1;
  `draft_cards` (shared with the cadence) runs the compliance checks and keeps
  only cards that pass; `redraft` replaces cards that went stale.
* `cadence`: `cadence_tick` drafts each enrollment's next step when it is due.

Whether a lead may be emailed at all is decided in `outreach.eligibility`;
what a finished card must pass is in `outreach.checks`. Read next:
`outreach.review` (what the Head of Sales does with a card).
"""
