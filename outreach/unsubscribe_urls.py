from __future__ import annotations

from django.urls import path

from outreach.unsubscribe_views import unsubscribe_page

app_name = "unsubscribe"

urlpatterns = [path("<str:token>/", unsubscribe_page, name="page")]
