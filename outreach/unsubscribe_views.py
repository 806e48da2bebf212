"""The public unsubscribe page linked from every email's canonical footer.

GET shows a confirmation (link scanners prefetch GETs, so a GET never
unsubscribes). POST unsubscribes at once: our page's button and RFC 8058
one-click clients (body `List-Unsubscribe=One-Click`) both post here, without a
CSRF token, which is why this view alone is CSRF-exempt. A forged or damaged
token gets a 400 page and changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from compliance.footer import BadUnsubscribeToken, read_unsubscribe_token
from outreach.models import Lead
from outreach.unsubscribe import Kind, suppress_lead

ONE_CLICK_BODY = "One-Click"


def masked_email(email: str) -> str:
    """Return the address with its local part hidden: c•••@acme.example."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lead = Lead.objects.filter(pk=read_unsubscribe_token(token)).first()
    except BadUnsubscribeToken:
        lead = None
    if lead is None:
        return _no_store(render(request, "outreach/unsubscribe_invalid.html", status=400))

    context = {"email": masked_email(lead.email), "token": token}
    if request.method == "GET":
        context["already"] = lead.unsubscribed_at is not None
        return _no_store(render(request, "outreach/unsubscribe_confirm.html", context))

    one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK_BODY
    suppress_lead(lead, reason=Kind.UNSUBSCRIBED, source="one_click" if one_click else "unsubscribe_page")
    return _no_store(render(request, "outreach/unsubscribe_done.html", context))
