"""The two public endpoints of inbound: GHL's webhook deliveries and the unsubscribe page.

The webhook view only reads the body and hands it to `outreach.inbound.webhooks.receive`,
which verifies, stores and applies it. The unsubscribe page is linked from every
email's canonical footer. GET shows a confirmation (link scanners prefetch GETs, so a GET never
unsubscribes). POST unsubscribes at once: our page's button and RFC 8058
one-click clients (body `List-Unsubscribe=One-Click`) both post here, without a
CSRF token, which is why it is CSRF-exempt (the webhook is for its signature). A forged or damaged
token gets a 400 page and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from compliance.footer import BadUnsubscribeToken, read_unsubscribe_token
from compliance.models import Suppression
from outreach.inbound.suppression import suppress_lead
from outreach.inbound.webhooks import receive
from outreach.models import Lead

ONE_CLICK_BODY = "One-Click"


@csrf_exempt  # GHL cannot send a CSRF token; the signature authenticates the delivery
@require_POST
def ghl_webhook(request: HttpRequest) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        # Far larger than any GHL event: refused before it is read, verified or stored.
        return JsonResponse(
            {"detail": "refused: the body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE allows"}, status=413
        )
    receipt = receive(body, request.headers)
    return JsonResponse({"detail": receipt.detail}, status=receipt.status)


class WebhookPathMiddleware:
    """Hand a request for the GHL webhook URL straight to its view, past the browser layers.

    Placed right after SecurityMiddleware. Sessions, CSRF, authentication,
    messages and frame options serve people in browsers; a GHL delivery
    carries no cookie, is authenticated by its signature and answers JSON,
    and those layers were a fifth of its CPU. Every other URL goes on down
    the stack unchanged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("ghl-webhook")
        if request.path_info == self.path:
            return ghl_webhook(request)
        return self.get_response(request)

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
    suppress_lead(lead, reason=Suppression.Kind.UNSUBSCRIBED, source="one_click" if one_click else "unsubscribe_page")
    return _no_store(render(request, "outreach/unsubscribe_done.html", context))
