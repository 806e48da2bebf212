"""The HTTP endpoint GHL posts webhook deliveries to."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
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
