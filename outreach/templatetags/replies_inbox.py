"""The replies inbox's figures on the admin index: what is waiting, and who is interested."""

from __future__ import annotations

from django import template

from outreach.inbound.replies import inbox_figures

register = template.Library()


@register.simple_tag
def replies_at_a_glance() -> dict[str, int]:
    return inbox_figures()
