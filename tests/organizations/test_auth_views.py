"""JWT sign-in and refresh, and the admin login: limited on failures per username and per address."""

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from organizations import login_attempts
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token"


def sign_in(client, username, password, address="10.5.5.5", **headers):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
        **headers,
    )


def test_25_successful_sign_ins_from_one_address_all_succeed(client, owner):
    """A partner's CI fetching tokens, or a whole office behind one proxy, is not limited for succeeding."""
    statuses = [sign_in(client, owner.username, PASSWORD).status_code for _ in range(25)]
    assert statuses == [200] * 25


def test_failures_for_one_username_lock_it_even_for_the_right_password_and_say_so(client, owner):
    for attempt in range(login_attempts.USERNAME_MAX_FAILURES):
        response = sign_in(client, owner.username, "wrong", address=f"10.6.0.{attempt}")
        assert response.status_code == 401
    locked = sign_in(client, owner.username, PASSWORD, address="10.6.1.1")
    assert locked.status_code == 429
    body = locked.json()
    assert body["error"] == "RateLimitExceeded" and body["code"] == 429
    assert "locked" in body["message"] and "this username" in body["message"]
    assert 0 < int(locked["Retry-After"]) <= login_attempts.LOCK_SECONDS


def test_failures_from_one_address_do_not_refuse_another_users_right_password_from_it(client, owner):
    for n in range(login_attempts.ADDRESS_MAX_FAILURES + 5):
        assert sign_in(client, f"someone-{n}", "wrong").status_code == 401
    assert sign_in(client, owner.username, PASSWORD).status_code == 200


def test_past_its_allowance_an_address_gets_one_guess_per_username(client, owner):
    for n in range(login_attempts.ADDRESS_MAX_FAILURES):
        sign_in(client, f"someone-{n}", "wrong")
    assert sign_in(client, owner.username, "wrong").status_code == 401
    assert sign_in(client, owner.username, PASSWORD, address="10.7.7.7").status_code == 429
    # Below its allowance, the same single failure from another address locks nothing.
    other = UserFactory(username="other")
    assert sign_in(client, other.username, "wrong", address="10.8.8.8").status_code == 401
    assert sign_in(client, other.username, PASSWORD, address="10.8.8.8").status_code == 200


def test_a_successful_sign_in_clears_the_usernames_failures(client, owner):
    for _ in range(2):
        for _ in range(login_attempts.USERNAME_MAX_FAILURES - 1):
            assert sign_in(client, owner.username, "wrong").status_code == 401
        assert sign_in(client, owner.username, PASSWORD).status_code == 200


def test_usernames_are_counted_whatever_their_case(client, owner):
    for _ in range(login_attempts.USERNAME_MAX_FAILURES):
        sign_in(client, owner.username.upper(), "wrong")
    assert sign_in(client, owner.username, PASSWORD).status_code == 429


def test_clients_behind_a_trusted_proxy_are_counted_apart(client, owner, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    for n in range(login_attempts.ADDRESS_MAX_FAILURES):
        sign_in(client, f"someone-{n}", "wrong", address="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    # Another client behind the same balancer has its own allowance: its one failure locks nothing.
    sign_in(client, owner.username, "wrong", address="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert sign_in(client, owner.username, PASSWORD, address="10.0.0.5").status_code == 200


def test_a_spoofed_forwarded_for_does_not_give_an_untrusted_peer_a_fresh_allowance(client, owner, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    for n in range(login_attempts.ADDRESS_MAX_FAILURES):
        sign_in(client, f"someone-{n}", "wrong", address="198.51.100.7", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}")
    sign_in(client, owner.username, "wrong", address="198.51.100.7", HTTP_X_FORWARDED_FOR="1.1.2.1")
    assert sign_in(client, owner.username, PASSWORD, address="10.9.9.9").status_code == 429


def test_a_missing_username_is_a_validation_error_and_not_counted(client):
    response = client.post(TOKEN_URL, {"password": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"


def test_refreshing_is_not_limited_for_succeeding(client, owner):
    refresh = str(RefreshToken.for_user(owner))
    statuses = [
        client.post(
            "/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json"
        ).status_code
        for _ in range(25)
    ]
    assert statuses == [200] * 25


def test_refreshing_a_deleted_users_token_is_401_in_the_error_format(client):
    user = UserFactory(username="leaving")
    refresh = str(RefreshToken.for_user(user))
    user.delete()
    response = client.post("/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "Unauthorized" and body["code"] == 401
    assert "no longer exists" in body["message"]


def admin_sign_in(client, username, password, address="10.5.5.5"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_admin_login_is_locked_after_repeated_failures_and_says_so(client, support_staff):
    for attempt in range(login_attempts.USERNAME_MAX_FAILURES):
        assert (
            admin_sign_in(client, support_staff.username, "wrong", address=f"10.6.0.{attempt}").status_code
            == 200
        )
    refused = admin_sign_in(client, support_staff.username, PASSWORD)
    assert refused.status_code == 200  # the form again, with the reason
    assert "locked" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_succeeds_for_staff_despite_failures_from_their_address(client, support_staff):
    for n in range(login_attempts.ADDRESS_MAX_FAILURES + 3):
        admin_sign_in(client, f"someone-{n}", "wrong")
    response = admin_sign_in(client, support_staff.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_admin_and_token_sign_ins_share_the_username_lock(client, support_staff):
    for _ in range(login_attempts.USERNAME_MAX_FAILURES):
        admin_sign_in(client, support_staff.username, "wrong")
    assert sign_in(client, support_staff.username, PASSWORD).status_code == 429
