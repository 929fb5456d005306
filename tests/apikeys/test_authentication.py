import logging
import time
from datetime import timedelta
from unittest import mock

import bcrypt
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import guard, services
from apikeys.models import ApiKey
from config.errors import InvalidApiKey, ServiceUnavailable
from config.shared_cache import shared_set_many
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
    secret = raw_key[len(services.KEY_PREFIX) + services.LOOKUP_LENGTH :]
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
    from config.shared_cache import redis_client

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
    for attempt in range(guard.PREFIX_FREE_FAILURES + 2):
        assert key_client(wrong_secret_for(key), address=f"10.1.0.{attempt}").get(URL).status_code == 401
    assert key_client(raw_key, address="10.7.7.7").get(URL).status_code == 200


def test_wrong_secrets_beyond_the_allowance_cost_at_most_one_bcrypt_per_spacing(
    organization, api_key_for, key_client
):
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES):
        key_client(wrong_secret_for(key)).get(URL)
    extra = 3
    started = time.monotonic()
    with count_bcrypt_checks() as checkpw:
        for attempt in range(extra):
            assert key_client(wrong_secret_for(key), address=f"10.1.1.{attempt}").get(URL).status_code == 401
    # Each failure past the allowance holds the prefix's turn, whatever the caller's address.
    assert time.monotonic() - started >= (extra - 1) * guard.FAILURE_SPACING_SECONDS
    assert checkpw.call_count == extra


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
def test_concurrent_first_requests_with_one_valid_key_all_succeed_on_one_bcrypt(organization, api_key_for):
    """16 partner requests race with a key nobody has verified yet: all 200, one bcrypt between them."""
    _, raw_key = api_key_for(organization)
    callers = 16

    def call(_):
        client = APIClient(REMOTE_ADDR="10.6.6.6")
        client.credentials(HTTP_X_API_KEY=raw_key)
        return client.get(URL).status_code

    with count_bcrypt_checks() as checkpw:
        statuses = run_concurrently(call, callers)
    assert statuses == [200] * callers
    assert checkpw.call_count == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_flood_of_wrong_secrets_is_spaced_out_and_told_to_retry(organization, api_key_for):
    key, _ = api_key_for(organization)
    for _ in range(guard.PREFIX_FREE_FAILURES):
        with pytest.raises(InvalidApiKey):
            services.apikey_authenticate(wrong_secret_for(key))
    callers = 8

    def call(_):
        client = APIClient(REMOTE_ADDR="10.8.8.8")
        client.credentials(HTTP_X_API_KEY=wrong_secret_for(key))
        response = client.get(URL)
        return response.status_code, response

    with count_bcrypt_checks() as checkpw:
        results = run_concurrently(call, callers)
    # One bcrypt per spacing while the others wait their turn: bounded whatever the concurrency.
    max_checks = int(guard.TURN_WAIT_SECONDS / guard.FAILURE_SPACING_SECONDS) + 1
    assert 1 <= checkpw.call_count <= max_checks
    statuses = [status for status, _ in results]
    assert statuses.count(401) == checkpw.call_count
    assert statuses.count(503) == callers - checkpw.call_count
    retry = next(response for status, response in results if status == 503)
    assert retry.json()["error"] == "ServiceUnavailable" and retry["Retry-After"] == "1"


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
    other_process = mock.patch("config.shared_cache.redis_client", return_value=second_redis_client)
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
