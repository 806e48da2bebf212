from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from caio.api import api
from caio.auth import rq_dashboard_urls
from outreach.admin.tuning import tuning_csv, tuning_examples, tuning_view
from outreach.inbound.views import ghl_webhook

admin.site.site_header = "CAIO back office"
admin.site.site_title = "CAIO"
admin.site.index_title = "Today"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # The weekly tuning report: admin pages without a model of their own.
    path("admin/tuning/", admin.site.admin_view(tuning_view), name="tuning"),
    path("admin/tuning/export.csv", admin.site.admin_view(tuning_csv), name="tuning-csv"),
    path("admin/tuning/examples/", admin.site.admin_view(tuning_examples), name="tuning-examples"),
    path("admin/", admin.site.urls),
    path("django-rq/", include((rq_dashboard_urls(get_api_urlpatterns() + get_admin_urlpatterns()), "django_rq"))),
    path("api/", api.urls),
    path("unsubscribe/", include("outreach.inbound.urls")),
    path("webhooks/ghl/", ghl_webhook, name="ghl-webhook"),
]
