"""Saving an exclusion rule in the admin as a person does: the preview first, then the confirmation;
and what every view of the queue says, to compare before and after."""

from __future__ import annotations

import html
import json
import re
from io import StringIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from outreach import review
from outreach.models import PendingEmail
from tests.factories import make_campaign, make_lead

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


def views(client, token: str) -> dict:
    """What the desk, the API, trace_queue and cleanup_queue say about the queue now."""
    api = client.get("/api/pending-emails?include_held_back=true", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    trace_out, cleanup_out = StringIO(), StringIO()
    call_command("trace_queue", "--json", "--no-store", stdout=trace_out)
    call_command("cleanup_queue", "--json", stdout=cleanup_out)
    trace = json.loads(trace_out.getvalue())
    return {
        "desk": {k: v for k, v in review.queue_split().items() if v},
        "api": api["hygiene"]["held_back_by_reason"],
        "api_passing": sorted(c["lead_email"] for c in api["cards"] if c["compliance_passed"]),
        "trace": trace["counts"]["held_back_by_reason"],
        "cleanup": sorted(row["card"] for row in json.loads(cleanup_out.getvalue())["cards"]),
    }


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def preview_import(client, model: str, data: bytes) -> str:
    """Upload a CSV of rules on the admin import page; return the preview (confirm) page."""
    upload = SimpleUploadedFile(f"{model}.csv", data, content_type="text/csv")
    response = client.post(f"/admin/compliance/{model}/import/", {"resource": "0", "import_file": upload, "format": "0"})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def confirm_import(client, model: str, page: str) -> None:
    """Confirm the previewed import with the hidden fields of its confirm form, as the button does."""
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page) if name != "csrfmiddlewaretoken"}
    assert "import_file_name" in fields, "the page has no confirm form"
    response = client.post(f"/admin/compliance/{model}/process_import/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]


def build_queue(*, reviewer) -> dict:
    """Three drafted cards through the real pipeline, two of them for leads at customer.example; one approved."""
    make_campaign(ref="spring")
    ana = make_lead(email="ana@customer.example", domain="customer.example", company="Customer")
    bo = make_lead(email="bo@eu.customer.example", company="Customer EU")
    other = make_lead(email="cy@other.example", domain="other.example", company="Other")
    call_command("run_pipeline", "--source", "wpromote", "--limit", "10", "--apply", stdout=StringIO(), stderr=StringIO())
    cards = {card.lead.email: card for card in PendingEmail.objects.select_related("lead")}
    assert len(cards) == 3 and all(card.compliance_passed for card in cards.values())
    review.approve(cards["bo@eu.customer.example"], user=reviewer)
    return {"ana": cards[ana.email], "bo": cards[bo.email], "other": cards[other.email]}
