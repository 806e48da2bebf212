from __future__ import annotations

from django.urls import path

from outreach.inbound.views import unsubscribe_page

app_name = "unsubscribe"

urlpatterns = [path("<str:token>/", unsubscribe_page, name="page")]
