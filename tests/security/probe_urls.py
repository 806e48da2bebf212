"""The project's URLs plus one view that forgot its permission check, to prove the matrix notices."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from caio.urls import urlpatterns as project_urlpatterns


def unprotected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("anyone can read this")


urlpatterns = [*project_urlpatterns, path("matrix-probe/", unprotected)]
