"""Password checks take turns: at most CHECKS_AT_ONCE run at once per lane across every web process, and a
sign-in finding its lane full is answered at once (the API's 429, the forms' message) instead of waiting
in a worker; addresses with failed sign-ins have their own lane, so a flood cannot take a fresh one's."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from organizations import login_attempts
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lane_taken():
    """Hold every turn of a lane, as concurrent checks in other workers would."""
    held = []

    def take(lane: str):
        for slot in range(login_attempts.CHECKS_AT_ONCE):
            key = f"login:turn:{lane}:{slot}"
            assert login_attempts.cache.add(key, "another worker", login_attempts.TURN_SECONDS)
            held.append(key)

    yield take
    for key in held:
        login_attempts.cache.delete(key)


def _fail_once(address: str):
    login_attempts.login_failure_record(username="someone-else", address=address)


def test_the_token_endpoint_answers_429_at_once_when_the_lane_is_full(lane_taken):
    user = UserFactory()
    lane_taken("fresh")
    refused = APIClient().post(
        "/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"
    assert refused.json()["error"] == "RateLimitExceeded"
    assert refused.json()["message"] == login_attempts.BUSY_MESSAGE


def test_a_busy_lane_is_not_a_failure_and_the_turn_is_given_back_after_a_check(lane_taken):
    user = UserFactory()
    lane_taken("failing")  # the flood's lane; this address sent no wrong password
    signed = APIClient().post(
        "/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert signed.status_code == 200
    assert login_attempts.cache.get("login:turn:fresh:0") is None  # released


def test_an_address_that_failed_waits_for_the_failing_lane_only(lane_taken):
    user = UserFactory()
    _fail_once("203.0.113.5")
    lane_taken("failing")
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    body = {"username": user.username, "password": PASSWORD}
    assert client.post("/api/auth/token", body, format="json").status_code == 429
    assert (
        APIClient(REMOTE_ADDR="198.51.100.7").post("/api/auth/token", body, format="json").status_code == 200
    )


@pytest.mark.parametrize("path", ["/portal/login/", "/admin/login/"])
def test_the_sign_in_forms_say_busy_and_count_no_failure(path, lane_taken):
    user = UserFactory(is_staff=True)
    lane_taken("fresh")
    page = Client().post(path, {"username": user.username, "password": PASSWORD})
    assert page.status_code == 200
    assert login_attempts.BUSY_MESSAGE in page.content.decode()
    assert login_attempts.cache.get(login_attempts._username_failures_key(user.username)) is None
