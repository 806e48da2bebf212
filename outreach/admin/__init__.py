"""Admin for outreach, one module per area: cards (the review desk), leads,
campaigns and cadence, audit trails, what GHL's webhooks told us. Importing them registers them."""

from outreach.admin import audit, campaigns, cards, leads  # noqa: F401
from outreach.admin import dispatch  # noqa: F401  (after cards: it adds to the card page)
from outreach.admin import webhooks  # noqa: F401
from outreach.admin import drafting, prompts  # noqa: F401
