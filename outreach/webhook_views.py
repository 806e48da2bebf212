"""The HTTP endpoint GHL posts webhook deliveries to."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from outreach.webhooks import receive


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
