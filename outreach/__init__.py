"""Outreach: leads, campaigns and the drafted email card, from draft to sent.

The card core is at the top: `models` (the card is `PendingEmail`),
`transitions` (the only way a card's status changes), `eligibility` (whether a
card may go out now, and why not), `checks` (compliance checks on a card) and
`review` (the Head of Sales' acts). `jobs` holds every RQ entry point.
The rooms around it: `drafting`, `sending`, `inbound`, `leads`, `reports`,
`admin`; each package's docstring says what it owns.
"""
