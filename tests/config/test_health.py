from unittest import mock

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_touching_dependencies():
    response = APIClient().get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_checks_database_cache_broker_and_queues():
    with mock.patch("infrastructure.health._check_broker"):
        response = APIClient().get("/health/ready")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "broker", "queues"}


def test_readiness_asks_no_worker_while_every_queue_is_empty():
    with (
        mock.patch(
            "infrastructure.health.queues_pending", return_value={"celery": 0, "tryons": 0, "webhooks": 0}
        ),
        mock.patch("infrastructure.health.queues_consumed") as consumed,
    ):
        body = APIClient().get("/health/ready").json()
    assert body["checks"]["queues"]["unconsumed"] == []
    consumed.assert_not_called()


def test_readiness_is_ok_when_every_queue_with_work_has_a_consumer():
    with (
        mock.patch(
            "infrastructure.health.queues_pending", return_value={"celery": 0, "tryons": 7, "webhooks": 2}
        ),
        mock.patch("infrastructure.health.queues_consumed", return_value={"tryons", "webhooks"}),
    ):
        response = APIClient().get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["queues"]["pending"] == {"celery": 0, "tryons": 7, "webhooks": 2}


def test_readiness_is_degraded_but_serving_when_a_queue_with_work_has_no_consumer():
    with (
        mock.patch(
            "infrastructure.health.queues_pending", return_value={"celery": 0, "tryons": 3, "webhooks": 1}
        ),
        mock.patch("infrastructure.health.queues_consumed", return_value={"celery", "webhooks"}),
    ):
        response = APIClient().get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["queues"]["status"] == "warning"
    assert response.json()["checks"]["queues"]["unconsumed"] == ["tryons"]


def test_readiness_is_503_when_a_dependency_is_down():
    with mock.patch("infrastructure.health._check_broker", side_effect=ConnectionRefusedError("nope")):
        response = APIClient().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"status": "error", "error": "ConnectionRefusedError"}


@pytest.mark.redis
def test_readiness_reaches_the_real_redis_broker():
    response = APIClient().get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"]["broker"] == "redis"
