"""Admin for outreach, one module per area: cards (the review desk), leads,
campaigns and cadence, audit trails. Importing them registers them."""

from outreach.admin import audit, campaigns, cards, leads  # noqa: F401
