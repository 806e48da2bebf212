"""The RQ dashboard can delete and requeue dispatch jobs: operators only, whatever django-rq allows staff."""

from __future__ import annotations

import django_rq
import pytest
from rq import Queue
from rq.job import Job

from caio.auth import may_open_rq_dashboard
from tests.factories import make_user


@pytest.fixture
def dispatch_job(redis_conn):
    # A plain rq queue: django-rq's would wait for a commit the test never makes.
    queue = Queue("dispatch", connection=django_rq.get_connection("dispatch"))
    return queue.enqueue("os.getcwd")


def queue_number(name: str) -> int:
    from django_rq.settings import get_queues_list

    return [config["name"] for config in get_queues_list()].index(name)


@pytest.mark.parametrize("prefix", ["/django-rq", "/admin/django_rq/dashboard"])
def test_a_head_of_sales_cannot_delete_a_dispatch_job(client, hos, dispatch_job, prefix):
    client.force_login(hos)

    response = client.post(f"{prefix}/queues/{queue_number('dispatch')}/{dispatch_job.id}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Job.exists(dispatch_job.id, connection=dispatch_job.connection)


@pytest.mark.parametrize("prefix", ["/django-rq", "/admin/django_rq/dashboard"])
def test_an_operator_can_delete_a_dispatch_job(client, operator, dispatch_job, prefix):
    client.force_login(operator)

    response = client.post(f"{prefix}/queues/{queue_number('dispatch')}/{dispatch_job.id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Job.exists(dispatch_job.id, connection=dispatch_job.connection)


def test_a_head_of_sales_cannot_empty_the_dispatch_queue(client, hos, dispatch_job):
    client.force_login(hos)

    response = client.post(f"/django-rq/queues/{queue_number('dispatch')}/empty/", {"post": "yes"})

    assert response.status_code == 403
    assert Job.exists(dispatch_job.id, connection=dispatch_job.connection)


def test_the_admin_index_shows_the_dashboard_to_operators_only(client, hos, operator):
    client.force_login(hos)
    hidden = client.get("/admin/")
    client.force_login(operator)
    shown = client.get("/admin/")

    assert b"/admin/django_rq/" not in hidden.content
    assert b"/admin/django_rq/" in shown.content


def test_only_roles_holding_the_permission_may_open_it(db, hos, operator, outsider):
    superuser = make_user("rq-super", superuser=True)
    inactive = make_user("rq-inactive", superuser=True)
    inactive.is_active = False

    allowed = {user.username: may_open_rq_dashboard(user) for user in (hos, operator, outsider, superuser, inactive)}

    assert allowed == {"hos": False, "operator": True, "outsider": False, "rq-super": True, "rq-inactive": False}
