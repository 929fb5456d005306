"""infrastructure.postgresql: a persistent connection the server ended is replaced before a request uses
it, and a
healthy one costs no round trip to check."""

from unittest import mock

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connections

from customers.models import Customer

connection = connections["default"]  # the wrapper itself, not Django's proxy, so its class can be patched

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _admin_connection():
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _end_request_then_start_another():
    # What Django's request_finished / request_started signals do around every request.
    close_old_connections()
    close_old_connections()


def test_a_session_the_server_terminated_is_replaced_before_the_next_query():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] and connection.settings_dict["CONN_MAX_AGE"]
    Customer.objects.count()
    old_pid = connection.connection.info.backend_pid
    with _admin_connection() as admin:
        # The second argument waits until the backend has exited (PostgreSQL 14+).
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [old_pid]).fetchone()[0]

    _end_request_then_start_another()

    assert Customer.objects.count() == 0  # no OperationalError: the dead session was noticed
    assert connection.connection.info.backend_pid != old_pid


def test_a_healthy_idle_session_is_kept_without_a_select_1():
    Customer.objects.count()
    pid = connection.connection.info.backend_pid
    _end_request_then_start_another()

    with mock.patch.object(type(connection), "is_usable", side_effect=AssertionError("round trip")):
        Customer.objects.count()

    assert connection.connection.info.backend_pid == pid


def test_the_full_check_decides_when_the_server_has_sent_something():
    Customer.objects.count()
    _end_request_then_start_another()

    with (
        mock.patch.object(type(connection), "_server_has_spoken", return_value=True),
        mock.patch.object(type(connection), "is_usable", return_value=True) as full_check,
    ):
        Customer.objects.count()

    full_check.assert_called_once()
