"""The HTTP endpoint GHL posts webhook deliveries to."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from outreach.webhooks import receive


@csrf_exempt  # GHL cannot send a CSRF token; the signature authenticates the delivery
@require_POST
def ghl_webhook(request: HttpRequest) -> JsonResponse:
    receipt = receive(request.body, request.headers)
    return JsonResponse({"detail": receipt.detail}, status=receipt.status)
