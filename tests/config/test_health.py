from unittest import mock

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_touching_dependencies():
    response = APIClient().get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_checks_database_cache_and_broker():
    with mock.patch("config.health._check_broker"):
        response = APIClient().get("/health/ready")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "broker"}


def test_readiness_is_503_when_a_dependency_is_down():
    with mock.patch("config.health._check_broker", side_effect=ConnectionRefusedError("nope")):
        response = APIClient().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"status": "error", "error": "ConnectionRefusedError"}


@pytest.mark.redis
def test_readiness_reaches_the_real_redis_broker():
    response = APIClient().get("/health/ready")
    assert response.status_code == 200, response.json()
