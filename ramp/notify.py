"""Escalation to Slack (SLACK_WEBHOOK_URL), when configured."""

from __future__ import annotations

import logging

import requests
from django.conf import settings

logger = logging.getLogger(__name__)


def notify(text: str) -> bool:
    """Post `text` to Slack; return whether it was delivered. Never raises."""
    url = settings.SLACK_WEBHOOK_URL
    if not url:
        return False
    try:
        response = requests.post(url, json={"text": text}, timeout=(3.05, 5))
        response.raise_for_status()
    except requests.RequestException as exc:
        # The URL is a secret: log the failure class only.
        logger.error("Slack notification failed: %s", exc.__class__.__name__)
        return False
    return True
