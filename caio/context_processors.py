from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def environment(request: HttpRequest) -> dict:
    """Expose the environment name for the admin banner."""
    return {"caio_environment": settings.CAIO_ENVIRONMENT}
