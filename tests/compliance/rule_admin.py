"""Saving an exclusion rule in the admin as a person does: the preview first, then the confirmation."""

from __future__ import annotations

import html
import re

PREVIEWED = re.compile(r'name="previewed" value="([^"]*)"')


def preview_rule(client, url: str, data: dict) -> tuple[str, str]:
    """Submit the rule once; return the preview page and the confirmation token it carries."""
    response = client.post(url, data)
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert 'id="rule-preview"' in page, "the form did not stop at the preview"
    (token,) = PREVIEWED.findall(page)
    return page, html.unescape(token)


def add_rule(client, url: str, data: dict) -> str:
    """Preview the rule, then save it; return the preview page."""
    page, token = preview_rule(client, url, data)
    saved = client.post(url, {**data, "previewed": token})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    return page
