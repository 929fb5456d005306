import logging
import time
from datetime import timedelta
from unittest import mock

import bcrypt
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api.credentials import LIVE_KEY_PREFIX
from api.errors import InvalidApiKey, ServiceUnavailable
from apikeys import guard, services
from apikeys.models import ApiKey
from infrastructure.shared_cache import shared_delete_many, shared_set_many
from organizations import services as organization_services
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apikeys.urls")]

URL = "/api/v1/test-things/t1"


def count_bcrypt_checks():
    return mock.patch("apikeys.admission.bcrypt.checkpw", side_effect=bcrypt.checkpw)


def test_created_key_has_format_prefix_and_bcrypt_hash(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    assert services.KEY_PATTERN.match(raw_key)
    assert len(raw_key.encode()) <= 72  # bcrypt ignores bytes beyond 72
    assert raw_key.startswith(key.key_prefix) and key.key_prefix.startswith("gx_live_")
    assert key.key_hash.startswith("$2b$10$")  # cost 10
    assert raw_key not in key.key_hash
    assert not ApiKey.objects.filter(key_hash__contains=raw_key[len(key.key_prefix) :]).exists()


def test_valid_key_is_accepted_and_sees_its_organization(organization, api_key_for, key_client):
    _, raw_key = api_key_for(organization, scopes=["customers:read"])
    response = key_client(raw_key).get(URL)
    assert response.status_code == 200
    assert response.json()["organizationId"] == organization.id


def test_verified_key_is_cached_so_bcrypt_runs_once(organization, api_key_for, key_client):
    _, raw_key = api_key_for(organization)
    client = key_client(raw_key)
    with count_bcrypt_checks() as checkpw:
        for _ in range(5):
            assert client.get(URL).status_code == 200
    assert checkpw.call_count == 1


def test_cached_key_costs_no_database_query(organization, api_key_for, django_assert_num_queries):
    _, raw_key = api_key_for(organization)
    services.apikey_authenticate(raw_key)  # verified once: bcrypt and one query
    with django_assert_num_queries(0):
        principal = services.apikey_authenticate(raw_key)
    assert principal.organization_id == organization.id


@pytest.mark.redis
def test_cached_partner_request_costs_no_database_query(
    organization, api_key_for, key_client, django_assert_num_queries
):
    """With Redis, the whole request (auth, rate limit, usage recording) leaves the database alone."""
    _, raw_key = api_key_for(organization)
    client = key_client(raw_key)
    assert client.get(URL).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(URL).status_code == 200


def test_cache_never_holds_the_raw_key(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    services.apikey_authenticate(raw_key)
    secret = raw_key[len(LIVE_KEY_PREFIX) + services.LOOKUP_LENGTH :]
    client = _raw_redis()
    if client is not None:
        keys = [k.decode() for k in client.keys("*")]
        assert keys and not any(secret in k for k in keys)
        assert not any(secret.encode() in (client.get(k) or b"") for k in keys if client.type(k) == b"string")
    else:
        stored = cache._cache  # locmem: the dict of pickled entries
        assert not any(secret in k for k in stored)
        assert not any(secret.encode() in v for v in stored.values())


def _raw_redis():
    from infrastructure.shared_cache import redis_client

    return redis_client()


@pytest.mark.parametrize(
    "header",
    ["", "gx_live_short", "sk_live_" + "a" * 40, "gx_live_" + "a" * 39 + "!", "gx_live_" + "a" * 41],
)
def test_missing_or_malformed_key_is_401_invalid_api_key(header, key_client):
    client = key_client(header)
    with count_bcrypt_checks() as checkpw:
        response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"
    assert checkpw.call_count == 0


def test_no_header_is_401_invalid_api_key(client):
    response = client.get(URL)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "InvalidApiKey" and body["code"] == 401
    assert "Missing" in body["message"]


def test_unknown_prefix_does_not_call_bcrypt(organization, api_key_for, key_client):
    api_key_for(organization)
    with count_bcrypt_checks() as checkpw:
        response = key_client("gx_live_" + "Z" * 40).get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"
    assert checkpw.call_count == 0


def test_wrong_secret_for_known_prefix_is_401(organization, api_key_for, key_client):
    key, raw_key = api_key_for(organization)
    wrong = key.key_prefix + ("A" if raw_key[-1] != "A" else "B") * services.SECRET_LENGTH
    response = key_client(wrong).get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"


def wrong_secret_for(key):
    return key.key_prefix + "W" * services.SECRET_LENGTH


def test_bad_keys_from_one_address_do_not_refuse_a_fresh_valid_key_from_it(
    organization, api_key_for, key_client
):
    """A partner's staging box with stale keys, or everyone behind one NAT, shares an address."""
    other, _ = api_key_for(organization, name="other")
    for n in range(40):
        assert key_client(f"gx_live_{n:08d}" + "x" * 32, address="10.2.2.2").get(URL).status_code == 401
    for _ in range(5):
        assert key_client(wrong_secret_for(other), address="10.2.2.2").get(URL).status_code == 401
    _, fresh_key = api_key_for(organization, name="fresh")
    assert key_client(fresh_key, address="10.2.2.2").get(URL).status_code == 200


def test_wrong_secrets_on_a_prefix_do_not_block_its_correct_key(organization, api_key_for, key_client):
    """Anyone who knows a key's prefix (it is not secret) must not be able to lock out its owner."""
    key, raw_key = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES + 2):
        assert key_client(wrong_secret_for(key), address="10.1.0.1").get(URL).status_code in (401, 429)
    with count_bcrypt_checks() as checkpw:
        assert key_client(raw_key, address="10.7.7.7").get(URL).status_code == 200
    assert checkpw.call_count == 1


def test_wrong_secrets_beyond_the_allowance_cost_at_most_one_bcrypt_per_spacing_and_never_wait(
    organization, api_key_for, key_client
):
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES):
        assert key_client(wrong_secret_for(key)).get(URL).status_code == 401
    with count_bcrypt_checks() as checkpw:
        assert key_client(wrong_secret_for(key)).get(URL).status_code == 401  # checked; the lane now waits
        started = time.monotonic()
        for _ in range(5):
            response = key_client(wrong_secret_for(key)).get(URL)
            assert response.status_code == 429
        assert time.monotonic() - started < guard.FAILURE_SPACING_SECONDS  # answered at once, not held
        assert checkpw.call_count == 1
        time.sleep(guard.FAILURE_SPACING_SECONDS)
        assert key_client(wrong_secret_for(key)).get(URL).status_code == 401  # the next check, a second on
    assert checkpw.call_count == 2


def test_a_taken_turn_is_answered_429_with_retry_after_in_the_error_format(
    organization, api_key_for, key_client
):
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key)).get(URL)
    response = key_client(wrong_secret_for(key)).get(URL)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    body = response.json()
    assert body["error"] == "RateLimitExceeded" and body["code"] == 429
    assert body["details"] == {"retryAfter": 1}
    assert set(body) >= {"error", "message", "code", "details"}


@pytest.mark.redis
def test_a_request_told_to_retry_costs_no_database_query(
    organization, api_key_for, key_client, django_assert_num_queries
):
    """While a prefix's turn is taken, the admission script says so and the answer needs no query: a flood
    of wrong secrets behind a known prefix costs less than one of unknown prefixes."""
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key)).get(URL)
    with django_assert_num_queries(0):
        assert key_client(wrong_secret_for(key)).get(URL).status_code == 429


def test_a_new_correct_key_is_checked_at_once_while_another_address_floods_its_prefix(
    organization, api_key_for, key_client
):
    """Wrong secrets from one address only ever hold their own lane: the partner's first request with a
    key nobody verified yet is checked at once from any other address."""
    key, raw_key = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key), address="10.66.0.1").get(URL)
    assert key_client(wrong_secret_for(key), address="10.66.0.1").get(URL).status_code == 429  # held
    with count_bcrypt_checks() as checkpw:
        assert key_client(raw_key, address="10.7.7.7").get(URL).status_code == 200
    assert checkpw.call_count == 1


def test_each_new_attacking_address_holds_the_fresh_lane_for_one_check_at_most(
    organization, api_key_for, key_client
):
    """The stated bound: a correct key retrying after each Retry-After is checked within N + 1 seconds,
    N being the new addresses sending wrong secrets; an address that failed moves to the failing lane."""
    key, raw_key = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES):
        key_client(wrong_secret_for(key), address="10.66.0.1").get(URL)
    assert key_client(wrong_secret_for(key), address="10.66.0.2").get(URL).status_code == 401
    assert key_client(raw_key, address="10.7.7.7").get(URL).status_code == 429  # the fresh lane is spaced
    time.sleep(guard.FAILURE_SPACING_SECONDS)
    # 10.66.0.2 failed before: it now waits in the failing lane and cannot hold the fresh one again.
    assert key_client(wrong_secret_for(key), address="10.66.0.2").get(URL).status_code == 401
    assert key_client(raw_key, address="10.7.7.7").get(URL).status_code == 200


def test_a_correct_key_from_the_attackers_address_still_gets_a_check_a_second(
    organization, api_key_for, key_client
):
    """Behind one NAT with the attacker (or with no trusted proxy configured) the key shares the failing
    lane: it is never told it is wrong, and the lane checks one secret a second."""
    key, raw_key = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key), address="10.66.0.1").get(URL)
    response = key_client(raw_key, address="10.66.0.1").get(URL)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    time.sleep(guard.FAILURE_SPACING_SECONDS)
    assert key_client(raw_key, address="10.66.0.1").get(URL).status_code == 200


def test_a_key_verified_before_needs_no_turn_after_its_entry_expires(organization, api_key_for, key_client):
    """Its proof outlives the 5-minute entry: under a sustained attack on its prefix it needs no bcrypt."""
    key, raw_key = api_key_for(organization)
    assert key_client(raw_key, address="10.66.0.1").get(URL).status_code == 200
    shared_delete_many([services.verified_cache_key(raw_key)])  # as if VERIFIED_TTL_SECONDS had passed
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key), address="10.66.0.1").get(URL)
    with count_bcrypt_checks() as checkpw:
        assert key_client(raw_key, address="10.66.0.1").get(URL).status_code == 200
    assert checkpw.call_count == 0


def test_a_proof_does_not_let_a_revoked_key_through(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    services.apikey_authenticate(raw_key)
    services.apikey_revoke(key=key)
    shared_delete_many([services.verified_cache_key(raw_key), services.blocked_cache_key(key.key_prefix)])
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(raw_key)


def test_unknown_prefixes_cost_no_bcrypt_however_many(organization, api_key_for, key_client):
    api_key_for(organization)
    with count_bcrypt_checks() as checkpw:
        for n in range(guard.PREFIX_FREE_FAILURES * 3):
            assert key_client(f"gx_live_{n:08d}" + "x" * 32).get(URL).status_code == 401
    assert checkpw.call_count == 0


def test_key_that_was_already_verified_keeps_working_while_its_prefix_is_attacked(
    organization, api_key_for, key_client
):
    key, raw_key = api_key_for(organization)
    assert key_client(raw_key).get(URL).status_code == 200
    for _ in range(guard.PREFIX_FREE_FAILURES + 1):
        key_client(wrong_secret_for(key), address="10.9.9.9").get(URL)
    with count_bcrypt_checks() as checkpw:
        assert key_client(raw_key).get(URL).status_code == 200
    assert checkpw.call_count == 0


def test_refused_key_is_logged_with_the_client_address_and_never_the_key(
    organization, api_key_for, key_client, caplog
):
    key, raw_key = api_key_for(organization)
    with caplog.at_level(logging.INFO, logger="garmax.apikeys"):
        key_client(wrong_secret_for(key), address="10.4.4.4").get(URL)
    assert "API key refused for 10.4.4.4" in caplog.text
    assert raw_key[16:] not in caplog.text and "W" * 8 not in caplog.text


def test_successful_verifications_do_not_use_up_the_prefix_allowance(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    with count_bcrypt_checks() as checkpw:
        for _ in range(guard.PREFIX_FREE_FAILURES + 3):
            cache.clear()  # forget the verification, so each round runs bcrypt again
            started = time.monotonic()
            services.apikey_authenticate(raw_key)
            assert time.monotonic() - started < guard.FAILURE_SPACING_SECONDS  # never held back
    assert checkpw.call_count == guard.PREFIX_FREE_FAILURES + 3


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_with_one_valid_key_cost_one_bcrypt_and_none_waits(
    organization, api_key_for
):
    """16 partner requests race with a key nobody has verified yet: one bcrypt between them; the others are
    served from it or told to retry in a second (never a wait, never a 401), and the retry succeeds."""
    _, raw_key = api_key_for(organization)
    callers = 16

    def call(_):
        client = APIClient(REMOTE_ADDR="10.6.6.6")
        client.credentials(HTTP_X_API_KEY=raw_key)
        started = time.monotonic()
        response = client.get(URL)
        return response.status_code, response.get("Retry-After"), time.monotonic() - started

    with count_bcrypt_checks() as checkpw:
        results = run_concurrently(call, callers)
        assert {status for status, _, _ in results} <= {200, 429}
        assert all(retry == "1" for status, retry, _ in results if status == 429)
        told_to_retry = [seconds for status, _, seconds in results if status == 429]
        assert all(seconds < guard.FAILURE_SPACING_SECONDS for seconds in told_to_retry)
        assert APIClient(REMOTE_ADDR="10.6.6.6", HTTP_X_API_KEY=raw_key).get(URL).status_code == 200
    assert checkpw.call_count == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_flood_of_wrong_secrets_is_answered_at_once_with_one_bcrypt(organization, api_key_for):
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES):
        with pytest.raises(InvalidApiKey):
            services.apikey_authenticate(wrong_secret_for(key))
    callers = 8

    def call(_):
        client = APIClient(REMOTE_ADDR="10.8.8.8")
        client.credentials(HTTP_X_API_KEY=wrong_secret_for(key))
        started = time.monotonic()
        response = client.get(URL)
        return response.status_code, response, time.monotonic() - started

    with count_bcrypt_checks() as checkpw:
        results = run_concurrently(call, callers)
    # One bcrypt in the lane's turn; past the allowance it keeps the turn for a second, so the rest are
    # told to retry at once instead of waiting for it.
    assert checkpw.call_count == 1
    statuses = [status for status, _, _ in results]
    assert statuses.count(401) == 1 and statuses.count(429) == callers - 1
    retry = next(response for status, response, _ in results if status == 429)
    assert retry.json()["error"] == "RateLimitExceeded" and retry["Retry-After"] == "1"
    assert max(seconds for status, _, seconds in results if status == 429) < guard.FAILURE_SPACING_SECONDS


def test_revoked_key_fails_next_request(organization, api_key_for, key_client):
    key, raw_key = api_key_for(organization)
    client = key_client(raw_key)
    assert client.get(URL).status_code == 200
    services.apikey_revoke(key=key)
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"
    assert "revoked" in response.json()["message"]


@pytest.mark.redis
def test_revoked_key_fails_next_request_on_another_process(organization, api_key_for, second_redis_client):
    """Two independent Redis clients (own connection pools) stand for two web processes."""
    key, raw_key = api_key_for(organization)
    services.apikey_authenticate(raw_key)  # process A verifies and caches
    other_process = mock.patch("infrastructure.shared_cache.redis_client", return_value=second_redis_client)
    with other_process, count_bcrypt_checks() as checkpw:
        assert services.apikey_authenticate(raw_key).key_id == key.id  # process B: from the cache
        assert checkpw.call_count == 0
    services.apikey_revoke(key=key)  # revoked through process A
    with other_process, pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(raw_key)


def test_stale_verification_written_after_revocation_is_ignored(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    principal = services.apikey_authenticate(raw_key)
    services.apikey_revoke(key=key)
    # A request that verified just before the revocation writes its entry just after it.
    shared_set_many({services.verified_cache_key(raw_key): principal.as_cache_entry()}, timeout=300)
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(raw_key)


def test_revoked_key_is_refused_after_its_cache_entries_are_gone(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    services.apikey_revoke(key=key)
    cache.clear()
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(raw_key)


def test_expired_key_is_refused(organization, api_key_for, key_client):
    key, raw_key = api_key_for(organization, expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = key_client(raw_key).get(URL)
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_cached_key_is_refused_on_the_first_request_after_it_expires(organization, api_key_for):
    expires_at = timezone.now() + timedelta(minutes=1)
    _, raw_key = api_key_for(organization, expires_at=expires_at)
    services.apikey_authenticate(raw_key)  # cached while valid
    later = expires_at.timestamp() + 1
    with (
        mock.patch("apikeys.admission.time.time", return_value=later),
        pytest.raises(InvalidApiKey, match="expired"),
    ):
        services.apikey_authenticate(raw_key)


def test_suspending_the_organization_blocks_its_keys_and_reactivating_restores_them(
    organization, api_key_for
):
    _, raw_key = api_key_for(organization)
    revoked, revoked_raw = api_key_for(organization, name="old")
    services.apikey_revoke(key=revoked)
    services.apikey_authenticate(raw_key)

    organization.status = organization.Status.SUSPENDED
    organization.save(update_fields=["status"])
    services.organization_keys_block(organization=organization)
    with pytest.raises(InvalidApiKey, match="suspended"):
        services.apikey_authenticate(raw_key)
    cache.clear()  # even without the tombstone, the slow path checks the organization
    with pytest.raises(InvalidApiKey, match="suspended"):
        services.apikey_authenticate(raw_key)

    organization.status = organization.Status.ACTIVE
    organization.save(update_fields=["status"])
    services.organization_keys_block(organization=organization)
    services.organization_keys_unblock(organization=organization)
    assert services.apikey_authenticate(raw_key).organization_id == organization.id
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(revoked_raw)


def test_organization_set_status_blocks_keys_after_commit(
    organization, api_key_for, django_capture_on_commit_callbacks
):
    _, raw_key = api_key_for(organization)
    services.apikey_authenticate(raw_key)
    with django_capture_on_commit_callbacks(execute=True):
        organization_services.organization_set_status(organization=organization, status="suspended")
    with pytest.raises(InvalidApiKey, match="suspended"):
        services.apikey_authenticate(raw_key)


def test_unreachable_redis_answers_503_in_the_error_format(
    organization, api_key_for, key_client, unreachable_redis, caplog
):
    _, raw_key = api_key_for(organization)
    with caplog.at_level(logging.WARNING, logger="garmax.apikeys"):
        response = key_client(raw_key).get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "ServiceUnavailable" and body["code"] == 503
    assert response["Retry-After"] == "5"
    assert any("Shared cache unavailable" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)
    assert raw_key not in caplog.text


def test_revoking_while_redis_is_unreachable_fails_as_a_whole(organization, api_key_for, settings):
    key, _ = api_key_for(organization)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    with pytest.raises(ServiceUnavailable):
        services.apikey_revoke(key=key)
    key.refresh_from_db()
    assert key.revoked_at is None  # not half-revoked: retried once Redis is back
