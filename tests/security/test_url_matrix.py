"""The security matrix: every URL of the project against every kind of user."""

from __future__ import annotations

from tests.security.urlmatrix import check, parse_table, values_for


# Who may open what. Every URL the resolver knows must have a row; a new URL
# without one fails the test. `GET` only: POSTs are checked in test_csrf.py,
# test_post_as_no_role.py and test_rq_dashboard.py.
def test_every_url_answers_each_role_as_the_table_says(world, role_clients):
    problems = check(role_clients, values_for(world), parse_table(MATRIX))
    print("\n".join(problems))
    assert problems == []


def test_an_unprotected_view_fails_the_matrix(world, role_clients, settings):
    settings.ROOT_URLCONF = "tests.security.probe_urls"
    table = parse_table(MATRIX)

    # It should be caught as a URL nobody has said who may open.
    assert check(role_clients, values_for(world), table, only=set()) == [
        "/matrix-probe/: no row in the table (a new URL: say who may open it)"
    ]

    # Given the row every admin-only page has, it should fail where it lets people in.
    table["/matrix-probe/"] = parse_table("header\nlogin  403    403    403    200    /matrix-probe/")["/matrix-probe/"]
    assert check(role_clients, values_for(world), table, only={"/matrix-probe/"}) == [
        "GET /matrix-probe/ as anon: expected login, got 200",
        "GET /matrix-probe/ as staff: expected 403, got 200",
        "GET /matrix-probe/ as hos: expected 403, got 200",
        "GET /matrix-probe/ as operator: expected 403, got 200",
    ]


MATRIX = r"""
anon   staff  hos    oper   super  URL pattern (first match wins; `login` = redirect to the login page)
# The site root, the admin's own pages.
302    302    302    302    302    /
login  200    200    200    200    /admin/
200    302    302    302    302    /admin/login/
302    405    405    405    405    /admin/logout/
login  200    200    200    200    /admin/password_change/
login  200    200    200    200    /admin/password_change/done/
login  403    403    403    403    /admin/autocomplete/
login  200    200    200    200    /admin/jsi18n/
login  404    404    404    404    /admin/r/<path:content_type_id>/<path:object_id>/
# The weekly tuning page: whoever may read cards (the examples need their filter, else 404).
login  403    200    200    200    /admin/tuning/
login  403    200    200    200    /admin/tuning/export.csv
login  403    400    400    400    /admin/tuning/examples/

# Our models' admin pages: each role sees what its group's permissions allow.
# Everyone lists and adds their own tokens; the probe's token is someone else's: "not found" for hos.
login  403    200    200    200    /admin/caio/apitoken/
login  403    200    200    200    /admin/caio/apitoken/add/
login  403    302    200    200    /admin/caio/apitoken/<path:object_id>/history/
login  403    403    403    403    /admin/caio/apitoken/<path:object_id>/delete/
login  403    302    200    200    /admin/caio/apitoken/<path:object_id>/change/
login  302    302    302    302    /admin/caio/apitoken/<path:object_id>/
login  403    403    200    200    /admin/caio/deployment/
login  403    403    403    403    /admin/caio/deployment/add/
login  403    403    200    200    /admin/caio/deployment/<path:object_id>/history/
login  403    403    403    403    /admin/caio/deployment/<path:object_id>/delete/
login  403    403    200    200    /admin/caio/deployment/<path:object_id>/change/
login  302    302    302    302    /admin/caio/deployment/<path:object_id>/
login  403    403    200    200    /admin/caio/gaterun/
login  403    403    403    403    /admin/caio/gaterun/add/
login  403    403    200    200    /admin/caio/gaterun/<path:object_id>/history/
login  403    403    403    403    /admin/caio/gaterun/<path:object_id>/delete/
login  403    403    200    200    /admin/caio/gaterun/<path:object_id>/change/
login  302    302    302    302    /admin/caio/gaterun/<path:object_id>/

# The RQ dashboard inside the admin: operators and superusers only (it can delete dispatch jobs).
login  403    403    200    200    /admin/django_rq/dashboard/^stats.json/?$
login  403    403    200    200    /admin/django_rq/dashboard/^stats.json/(?P<token>[\w]+)?/?$
login  403    403    200    200    /admin/django_rq/dashboard/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/details/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/finished/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/failed/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/failed/clear/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/scheduled/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/started/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/deferred/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/empty/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/requeue-all/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/results/<str:result_id>/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/delete/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/requeue/
login  403    403    200    200    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/enqueue/
login  403    403    405    405    /admin/django_rq/dashboard/queues/<int:queue_index>/<str:job_id>/stop/
login  403    403    302    302    /admin/django_rq/dashboard/queues/confirm-action/<int:queue_index>/
login  403    403    302    302    /admin/django_rq/dashboard/queues/actions/<int:queue_index>/
login  403    403    200    200    /admin/django_rq/dashboard/workers/<int:queue_index>/
login  403    403    200    200    /admin/django_rq/dashboard/workers/<int:queue_index>/<str:key>/
login  403    403    404    404    /admin/django_rq/dashboard/cron-schedulers/<int:connection_index>/<str:scheduler_name>/
login  403    403    404    404    /admin/django_rq/dashboard/cron-schedulers/<int:connection_index>/<str:scheduler_name>/jobs/<path:cron_job_name>/
login  403    200    200    200    /admin/outreach/rejectiontag/
login  403    403    200    200    /admin/outreach/rejectiontag/add/
login  403    200    200    200    /admin/outreach/rejectiontag/<path:object_id>/history/
login  403    403    403    200    /admin/outreach/rejectiontag/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/rejectiontag/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/rejectiontag/<path:object_id>/
login  403    200    200    200    /admin/outreach/cardtransition/
login  403    403    403    403    /admin/outreach/cardtransition/add/
login  403    200    200    200    /admin/outreach/cardtransition/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/cardtransition/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/cardtransition/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/cardtransition/<path:object_id>/
login  403    200    200    200    /admin/outreach/dispatchattempt/
login  403    403    403    403    /admin/outreach/dispatchattempt/add/
login  403    200    200    200    /admin/outreach/dispatchattempt/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/dispatchattempt/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/dispatchattempt/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/dispatchattempt/<path:object_id>/
login  403    403    200    200    /admin/outreach/webhookdelivery/
login  403    403    403    403    /admin/outreach/webhookdelivery/add/
login  403    403    200    200    /admin/outreach/webhookdelivery/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/webhookdelivery/<path:object_id>/delete/
login  403    403    200    200    /admin/outreach/webhookdelivery/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/webhookdelivery/<path:object_id>/
login  403    200    200    200    /admin/outreach/emailevent/
login  403    403    403    403    /admin/outreach/emailevent/add/
login  403    200    200    200    /admin/outreach/emailevent/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/emailevent/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/emailevent/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/emailevent/<path:object_id>/
login  403    200    200    200    /admin/outreach/campaign/
login  403    403    200    200    /admin/outreach/campaign/add/
login  403    200    200    200    /admin/outreach/campaign/<path:object_id>/history/
login  403    403    403    200    /admin/outreach/campaign/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/campaign/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/campaign/<path:object_id>/
login  403    200    200    200    /admin/outreach/enrollment/
login  403    403    403    200    /admin/outreach/enrollment/add/
login  403    200    200    200    /admin/outreach/enrollment/<path:object_id>/history/
login  403    403    403    200    /admin/outreach/enrollment/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/enrollment/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/enrollment/<path:object_id>/
login  403    200    200    200    /admin/outreach/pendingemail/hygiene/
login  405    405    405    405    /admin/outreach/pendingemail/<path:object_id>/approve/
login  405    405    405    405    /admin/outreach/pendingemail/<path:object_id>/reject/
login  405    405    405    405    /admin/outreach/pendingemail/<path:object_id>/undo/
login  403    200    200    200    /admin/outreach/pendingemail/
login  403    403    403    403    /admin/outreach/pendingemail/add/
login  403    200    200    200    /admin/outreach/pendingemail/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/pendingemail/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/pendingemail/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/pendingemail/<path:object_id>/
login  405    405    405    405    /admin/outreach/lead/process_import/
login  403    200    200    200    /admin/outreach/lead/import/
login  403    200    200    200    /admin/outreach/lead/export/
login  403    200    200    200    /admin/outreach/lead/
login  403    200    200    200    /admin/outreach/lead/add/
login  403    200    200    200    /admin/outreach/lead/<path:object_id>/history/
login  403    403    403    200    /admin/outreach/lead/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/lead/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/lead/<path:object_id>/
# Confirming a look-alike lead is a POST by whoever may change leads (both roles); a GET is refused.
login  405    405    405    405    /admin/outreach/lead/<int:lead_id>/confirm-lookalike/
# Drafting runs write cards for a campaign: whoever may change campaigns (operators) starts and follows them; nobody edits or deletes one.
login  403    403    200    200    /admin/outreach/draftingrun/
login  403    403    200    200    /admin/outreach/draftingrun/add/
login  403    403    200    200    /admin/outreach/draftingrun/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/draftingrun/<path:object_id>/delete/
login  403    403    200    200    /admin/outreach/draftingrun/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/draftingrun/<path:object_id>/
# Prompt versions: a version's page is the shadow lane (blind pairs, promotion, rollback, style rules), the reviewers'
# (both roles review cards); versions are made by saving a prompt or accepting a style rule, never added or deleted here.
login  403    200    200    200    /admin/outreach/promptversion/
login  403    403    403    403    /admin/outreach/promptversion/add/
login  403    200    200    200    /admin/outreach/promptversion/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/promptversion/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/promptversion/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/promptversion/<path:object_id>/
# Background lead imports: whoever may import leads follows them (the page is the progress); nobody edits their record.
login  403    200    200    200    /admin/outreach/leadimport/
login  403    403    403    403    /admin/outreach/leadimport/add/
login  403    200    200    200    /admin/outreach/leadimport/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/leadimport/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/leadimport/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/leadimport/<path:object_id>/
login  405    405    405    405    /admin/outreach/dispatchconsole/confirm/
login  403    403    200    200    /admin/outreach/dispatchconsole/
login  403    403    403    403    /admin/outreach/dispatchconsole/add/
login  403    403    200    200    /admin/outreach/dispatchconsole/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/dispatchconsole/<path:object_id>/delete/
login  403    403    200    200    /admin/outreach/dispatchconsole/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/dispatchconsole/<path:object_id>/
login  405    405    405    405    /admin/compliance/excludeddomain/process_import/
login  403    403    200    200    /admin/compliance/excludeddomain/import/
login  403    200    200    200    /admin/compliance/excludeddomain/export/
login  403    200    200    200    /admin/compliance/excludeddomain/
login  403    403    200    200    /admin/compliance/excludeddomain/add/
login  403    200    200    200    /admin/compliance/excludeddomain/<path:object_id>/history/
login  403    403    200    200    /admin/compliance/excludeddomain/<path:object_id>/delete/
login  403    200    200    200    /admin/compliance/excludeddomain/<path:object_id>/change/
login  302    302    302    302    /admin/compliance/excludeddomain/<path:object_id>/
login  405    405    405    405    /admin/compliance/donotcontact/process_import/
login  403    403    200    200    /admin/compliance/donotcontact/import/
login  403    200    200    200    /admin/compliance/donotcontact/export/
login  403    200    200    200    /admin/compliance/donotcontact/
login  403    403    200    200    /admin/compliance/donotcontact/add/
login  403    200    200    200    /admin/compliance/donotcontact/<path:object_id>/history/
login  403    403    403    200    /admin/compliance/donotcontact/<path:object_id>/delete/
login  403    200    200    200    /admin/compliance/donotcontact/<path:object_id>/change/
login  302    302    302    302    /admin/compliance/donotcontact/<path:object_id>/
login  403    200    200    200    /admin/compliance/suppression/
login  403    403    403    403    /admin/compliance/suppression/add/
login  403    200    200    200    /admin/compliance/suppression/<path:object_id>/history/
login  403    403    403    403    /admin/compliance/suppression/<path:object_id>/delete/
login  403    200    200    200    /admin/compliance/suppression/<path:object_id>/change/
login  302    302    302    302    /admin/compliance/suppression/<path:object_id>/
login  403    403    200    200    /admin/ramp/ramppolicy/
login  403    403    403    403    /admin/ramp/ramppolicy/add/
login  403    403    200    200    /admin/ramp/ramppolicy/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/ramppolicy/<path:object_id>/delete/
login  403    403    200    200    /admin/ramp/ramppolicy/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/ramppolicy/<path:object_id>/
login  403    200    200    200    /admin/ramp/rampday/
login  403    403    403    403    /admin/ramp/rampday/add/
login  403    200    200    200    /admin/ramp/rampday/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/rampday/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/rampday/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/rampday/<path:object_id>/
# Widening outside graduation: an operator proposes, the Head of Sales decides on the change page.
login  403    200    200    200    /admin/ramp/ramppolicychange/
login  403    403    200    200    /admin/ramp/ramppolicychange/add/
login  403    200    200    200    /admin/ramp/ramppolicychange/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/ramppolicychange/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/ramppolicychange/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/ramppolicychange/<path:object_id>/
# The Head of Sales sees and raises holds (systemic copy failure); only an operator clears them.
login  403    200    200    200    /admin/ramp/hold/
login  403    405    405    405    /admin/ramp/hold/raise-copy-failure/
login  403    200    200    200    /admin/ramp/hold/add/
login  403    200    200    200    /admin/ramp/hold/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/hold/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/hold/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/hold/<path:object_id>/
login  403    403    200    200    /admin/ramp/preflightrun/
login  403    403    403    403    /admin/ramp/preflightrun/add/
login  403    403    200    200    /admin/ramp/preflightrun/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/preflightrun/<path:object_id>/delete/
login  403    403    200    200    /admin/ramp/preflightrun/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/preflightrun/<path:object_id>/
login  403    403    200    200    /admin/ramp/queuetrace/
login  403    403    403    403    /admin/ramp/queuetrace/add/
login  403    403    200    200    /admin/ramp/queuetrace/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/queuetrace/<path:object_id>/delete/
login  403    403    200    200    /admin/ramp/queuetrace/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/queuetrace/<path:object_id>/
login  403    403    200    200    /admin/ramp/livecycle/
login  403    403    403    403    /admin/ramp/livecycle/add/
login  403    403    200    200    /admin/ramp/livecycle/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/livecycle/<path:object_id>/delete/
login  403    403    200    200    /admin/ramp/livecycle/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/livecycle/<path:object_id>/
# The quality rubric: both roles read it and write its next version; a version is never edited or deleted.
login  403    200    200    200    /admin/ramp/qualityrubric/
login  403    302    302    302    /admin/ramp/qualityrubric/current/
login  403    200    200    200    /admin/ramp/qualityrubric/add/
login  403    200    200    200    /admin/ramp/qualityrubric/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/qualityrubric/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/qualityrubric/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/qualityrubric/<path:object_id>/
# The Head of Sales' sign-off and copy-quality confirmation: both roles read them, only the HoS records them.
login  403    200    200    200    /admin/ramp/qualitysignoff/
login  403    200    403    200    /admin/ramp/qualitysignoff/sign/
login  403    200    403    200    /admin/ramp/qualitysignoff/confirm-quality/
login  403    403    403    403    /admin/ramp/qualitysignoff/add/
login  403    200    200    200    /admin/ramp/qualitysignoff/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/qualitysignoff/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/qualitysignoff/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/qualitysignoff/<path:object_id>/
login  403    200    200    200    /admin/ramp/qualityconfirmation/
login  403    403    403    403    /admin/ramp/qualityconfirmation/add/
login  403    200    200    200    /admin/ramp/qualityconfirmation/<path:object_id>/history/
login  403    403    403    403    /admin/ramp/qualityconfirmation/<path:object_id>/delete/
login  403    200    200    200    /admin/ramp/qualityconfirmation/<path:object_id>/change/
login  302    302    302    302    /admin/ramp/qualityconfirmation/<path:object_id>/

# Users and groups: superusers only.
login  403    403    403    200    /admin/auth/group/
login  403    403    403    200    /admin/auth/group/add/
login  403    403    403    200    /admin/auth/group/<path:object_id>/history/
login  403    403    403    200    /admin/auth/group/<path:object_id>/delete/
login  403    403    403    200    /admin/auth/group/<path:object_id>/change/
login  302    302    302    302    /admin/auth/group/<path:object_id>/
login  403    403    403    200    /admin/auth/user/<id>/password/
login  403    403    403    200    /admin/auth/user/
login  403    403    403    200    /admin/auth/user/add/
login  403    403    403    200    /admin/auth/user/<path:object_id>/history/
login  403    403    403    200    /admin/auth/user/<path:object_id>/delete/
login  403    403    403    200    /admin/auth/user/<path:object_id>/change/
login  302    302    302    302    /admin/auth/user/<path:object_id>/

# The admin's app index and its catch-all.
login  404    200    200    200    /admin/^(?P<app_label>caio|django_rq|outreach|compliance|ramp|auth)/$
login  404    404    404    404    /admin/(?P<url>.*)$

# The RQ dashboard at its own URLs: operators and superusers only; a token in the path is no key.
login  403    403    200    200    /django-rq/^stats.json/?$
login  403    403    200    200    /django-rq/^stats.json/(?P<token>[\w]+)?/?$
login  403    403    200    200    /django-rq/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/details/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/finished/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/failed/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/failed/clear/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/scheduled/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/started/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/deferred/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/empty/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/requeue-all/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/<str:job_id>/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/<str:job_id>/results/<str:result_id>/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/<str:job_id>/delete/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/<str:job_id>/requeue/
login  403    403    200    200    /django-rq/queues/<int:queue_index>/<str:job_id>/enqueue/
login  403    403    405    405    /django-rq/queues/<int:queue_index>/<str:job_id>/stop/
login  403    403    302    302    /django-rq/queues/confirm-action/<int:queue_index>/
login  403    403    302    302    /django-rq/queues/actions/<int:queue_index>/
login  403    403    200    200    /django-rq/workers/<int:queue_index>/
login  403    403    200    200    /django-rq/workers/<int:queue_index>/<str:key>/
login  403    403    404    404    /django-rq/cron-schedulers/<int:connection_index>/<str:scheduler_name>/
login  403    403    404    404    /django-rq/cron-schedulers/<int:connection_index>/<str:scheduler_name>/jobs/<path:cron_job_name>/

# The JSON API: a token in a header or nothing (a logged-in session is no token).
200    200    200    200    200    /api/openapi.json
200    200    200    200    200    /api/docs
200    200    200    200    200    /api/health
200    200    200    200    200    /api/ready
401    401    401    401    401    /api/pending-emails
401    401    401    401    401    /api/rejection-tags
401    401    401    401    401    /api/ramp
404    404    404    404    404    /api/

# Public by design: the signed token in the path is the authority; GHL signs its webhooks.
200    200    200    200    200    /unsubscribe/<str:token>/
405    405    405    405    405    /webhooks/ghl/

# What GHL told us and the identity migration found (rows written by the system).
login  403    403    200    200    /admin/outreach/webhookrefusal/
login  403    403    403    403    /admin/outreach/webhookrefusal/add/
login  403    403    200    200    /admin/outreach/webhookrefusal/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/webhookrefusal/<path:object_id>/delete/
login  403    403    200    200    /admin/outreach/webhookrefusal/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/webhookrefusal/<path:object_id>/
login  403    200    200    200    /admin/outreach/reply/
login  403    403    403    403    /admin/outreach/reply/add/
login  403    200    200    200    /admin/outreach/reply/<path:object_id>/history/
login  403    403    403    403    /admin/outreach/reply/<path:object_id>/delete/
login  403    200    200    200    /admin/outreach/reply/<path:object_id>/change/
login  302    302    302    302    /admin/outreach/reply/<path:object_id>/
login  403    200    200    200    /admin/compliance/identitycollision/
login  403    403    403    403    /admin/compliance/identitycollision/add/
login  403    200    200    200    /admin/compliance/identitycollision/<path:object_id>/history/
login  403    403    403    403    /admin/compliance/identitycollision/<path:object_id>/delete/
login  403    200    200    200    /admin/compliance/identitycollision/<path:object_id>/change/
login  302    302    302    302    /admin/compliance/identitycollision/<path:object_id>/
login  403    200    200    200    /admin/outreach/cardtransition/export/
login  403    200    200    200    /admin/outreach/pendingemail/export/
login  403    200    200    200    /admin/outreach/emailevent/export/
"""
