"""apikey_admit: authentication and the rate-limit count of a partner request in one Redis round trip."""

import dataclasses
import json
import time
from unittest import mock

import bcrypt
import pytest

from api.credentials import LIVE_KEY_PREFIX
from api.errors import InvalidApiKey, ServiceUnavailable
from apikeys import services
from apikeys.ratelimit import bucket_key
from infrastructure.shared_cache import redis_client, redis_hot_client, shared_set_many
from organizations.services import organization_set_status
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apikeys.urls")]

URL = "/api/v1/test-things/t1"


def count_bcrypt_checks():
    return mock.patch("apikeys.admission.bcrypt.checkpw", side_effect=bcrypt.checkpw)


def as_other_process(client):
    """Run apikey_admit through another Redis client and connection pool, as another web process would."""
    return mock.patch("apikeys.admission.redis_hot_client", return_value=client)


def test_admitted_key_is_counted_against_its_own_limit(organization, api_key_for):
    key, raw_key = api_key_for(organization, rate_limit=3)
    results = [services.apikey_admit(raw_key) for _ in range(3)]
    assert {principal.key_id for principal, _ in results} == {key.id}
    assert [decision.remaining for _, decision in results] == [2, 1, 0]
    assert all(decision.allowed and decision.limit == 3 for _, decision in results)
    principal, refused = services.apikey_admit(raw_key)
    assert principal.organization_id == organization.id
    assert not refused.allowed and refused.retry_after >= 1


def test_principal_survives_the_cache_entry_round_trip(organization, api_key_for):
    _, raw_key = api_key_for(organization, scopes=["customers:read", "photos:read"], rate_limit=7)
    first, _ = services.apikey_admit(raw_key)  # slow path: built from the row
    cached, _ = services.apikey_admit(raw_key)  # hot path: parsed from the cache entry
    assert cached == first
    assert cached.scopes == ("customers:read", "photos:read") and cached.rate_limit == 7


def test_accept_values_outside_json_still_get_drf_negotiation(organization, api_key_for, key_client):
    _, raw_key = api_key_for(organization)
    client = key_client(raw_key)
    plain = client.get(URL, HTTP_ACCEPT="application/json")
    assert plain.status_code == 200 and plain["Content-Type"] == "application/json"
    assert client.get(URL).status_code == 200
    refused = client.get(URL, HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert refused.json()["code"] == 406
    assert client.get(URL + "?format=xml").status_code == 404


@pytest.mark.redis
def test_cached_key_costs_exactly_one_redis_command(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)  # verify once
    client = redis_hot_client()
    with mock.patch.object(client, "execute_command", wraps=client.execute_command) as command:
        principal, decision = services.apikey_admit(raw_key)
    assert decision.allowed and principal.organization_id == organization.id
    assert command.call_count == 1
    assert command.call_args.args[0] == "EVALSHA"


@pytest.mark.redis
def test_revoked_key_is_refused_on_another_process_and_not_counted(
    organization, api_key_for, second_redis_client
):
    key, raw_key = api_key_for(organization, rate_limit=100)
    services.apikey_admit(raw_key)  # process A verifies and caches
    with as_other_process(second_redis_client), count_bcrypt_checks() as checkpw:
        assert services.apikey_admit(raw_key)[0].key_id == key.id  # process B: from the cache
    assert checkpw.call_count == 0
    bucket_before = second_redis_client.get(bucket_key(key.key_prefix))

    services.apikey_revoke(key=key)  # through process A
    with as_other_process(second_redis_client), pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_admit(raw_key)
    assert second_redis_client.get(bucket_key(key.key_prefix)) == bucket_before


@pytest.mark.redis
def test_suspended_organization_key_is_refused_on_the_next_request(
    organization, api_key_for, django_capture_on_commit_callbacks
):
    _, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)
    with django_capture_on_commit_callbacks(execute=True):
        organization_set_status(organization=organization, status=organization.Status.SUSPENDED)
    with pytest.raises(InvalidApiKey, match="suspended"):
        services.apikey_admit(raw_key)


@pytest.mark.redis
def test_expiry_is_judged_inside_redis_without_bcrypt(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    principal, _ = services.apikey_admit(raw_key)
    expired = dataclasses.replace(principal, expires_at=time.time() - 1)
    shared_set_many({services.verified_cache_key(raw_key): expired.as_cache_entry()}, timeout=300)
    with count_bcrypt_checks() as checkpw, pytest.raises(InvalidApiKey, match="expired"):
        services.apikey_admit(raw_key)
    assert checkpw.call_count == 0


@pytest.mark.redis
def test_unknown_prefix_costs_no_bcrypt_and_no_count(organization, api_key_for):
    api_key_for(organization)
    unknown = "gx_live_" + "Z" * 40
    with count_bcrypt_checks() as checkpw, pytest.raises(InvalidApiKey, match="not recognized"):
        services.apikey_admit(unknown)
    assert checkpw.call_count == 0
    assert redis_client().get(bucket_key(unknown[:16])) is None


@pytest.mark.redis
def test_wrong_secret_for_a_cached_prefix_is_not_admitted(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)
    wrong = key.key_prefix + "W" * services.SECRET_LENGTH
    with pytest.raises(InvalidApiKey, match="not recognized"):
        services.apikey_admit(wrong)


@pytest.mark.redis
def test_entry_in_an_older_format_is_verified_again(organization, api_key_for):
    key, raw_key = api_key_for(organization)
    old = json.dumps([key.id, key.key_prefix, organization.id, ["all"], 60, None])
    redis_client().set(services.verified_cache_key(raw_key), old, ex=300)
    with count_bcrypt_checks() as checkpw:
        principal, decision = services.apikey_admit(raw_key)
    assert checkpw.call_count == 1 and principal.key_id == key.id and decision.allowed
    assert services.apikey_authenticate(raw_key).key_id == key.id  # the entry was rewritten


@pytest.mark.redis
def test_parallel_admissions_admit_exactly_the_limit(organization, api_key_for):
    """Each thread has its own cache backend, hence its own Redis client and pool, like a web process."""
    limit, extra = 10, 6
    _, raw_key = api_key_for(organization, rate_limit=limit)
    services.apikey_authenticate(raw_key)  # verified (and not counted): every admission below is cached

    def admit(_):
        with count_bcrypt_checks() as checkpw:
            allowed = services.apikey_admit(raw_key)[1].allowed
        assert checkpw.call_count == 0
        return allowed

    admitted = run_concurrently(admit, limit + extra)
    assert admitted.count(True) == limit


@pytest.mark.redis
def test_neither_the_key_nor_its_secret_reaches_redis(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)
    services.apikey_admit(raw_key)
    secret = raw_key[len(LIVE_KEY_PREFIX) + services.LOOKUP_LENGTH :].encode()
    client = redis_client()
    names = client.keys("*")
    assert names and not any(secret in name for name in names)
    assert not any(secret in (client.get(name) or b"") for name in names if client.type(name) == b"string")


def test_unreachable_redis_is_a_503_from_admission(organization, api_key_for, unreachable_redis):
    _, raw_key = api_key_for(organization)
    with pytest.raises(ServiceUnavailable):
        services.apikey_admit(raw_key)


@pytest.mark.redis
def test_a_dropped_hot_connection_is_replaced_without_failing_the_request(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)
    hot = redis_hot_client()
    assert hot is redis_hot_client()  # kept for the thread: no pool checkout per request
    held = hot.connection
    redis_client().client_kill_filter(_id=hot.client_id())  # e.g. Redis restarted, or a timeout dropped it

    principal, decision = services.apikey_admit(raw_key)

    assert decision.allowed and principal.organization_id == organization.id
    assert hot.client_id() != 0 and hot.connection is held  # reconnected in place


@pytest.mark.redis
def test_a_forked_process_builds_its_own_hot_connection(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    services.apikey_admit(raw_key)
    parents = redis_hot_client()
    with mock.patch("infrastructure.shared_cache.os.getpid", return_value=-1):  # as seen from a child
        childs = redis_hot_client()
        assert childs is not parents and childs.connection is not parents.connection
        assert services.apikey_admit(raw_key)[1].allowed
