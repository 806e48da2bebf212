"""Lead files for the import tests, and the admin steps a person takes with them."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

HEADER = "email,first_name,last_name,company,tier,source"


def lead_file(good: int, *, bad_tier_every: int = 0, start: int = 0) -> str:
    """A file of `good` rows; with `bad_tier_every`, every n-th row carries an unknown tier instead."""
    lines = [HEADER]
    for n in range(start, start + good):
        tier = "tier_9" if bad_tier_every and n % bad_tier_every == 0 else "tier_1"
        lines.append(f"Lead{n}@Company{n}.example,Celia,Import{n},Company {n},{tier},bench")
    return "\n".join(lines) + "\n"


def preview(client, text: str, name: str = "leads.csv"):
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(reverse("admin:outreach_lead_import"), {"import_file": upload, "format": "0"})


def confirm(client, preview_response, **kwargs):
    form = preview_response.context["confirm_form"]
    return client.post(reverse("admin:outreach_lead_process_import"), {**form.initial, "confirm": "1"}, **kwargs)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
