import time
from unittest import mock

import pytest

from apikeys import ratelimit
from apikeys.ratelimit import rate_limit_hit
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.urls("tests.apikeys.urls")

URL = "/api/v1/test-things/t1"


def test_a_fresh_bucket_admits_exactly_the_limit_then_refuses():
    decisions = [rate_limit_hit(key_id="key_a", limit=5) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    refused = decisions[-1]
    assert 1 <= refused.retry_after <= 12  # one request per 12 s at 5/min
    assert refused.reset_at >= int(time.time())


def test_limits_are_per_key():
    for _ in range(3):
        rate_limit_hit(key_id="key_a", limit=3)
    assert not rate_limit_hit(key_id="key_a", limit=3).allowed
    assert rate_limit_hit(key_id="key_b", limit=3).allowed


def test_bucket_refills_at_the_limit_rate_in_embedded_mode(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    clock = [1_000_000.0]
    with mock.patch("apikeys.ratelimit.time.time", side_effect=lambda: clock[0]):
        for _ in range(60):
            assert rate_limit_hit(key_id="key_r", limit=60).allowed
        assert not rate_limit_hit(key_id="key_r", limit=60).allowed
        clock[0] += 1.0  # 60/min = one more request per second
        assert rate_limit_hit(key_id="key_r", limit=60).allowed
        assert not rate_limit_hit(key_id="key_r", limit=60).allowed
        clock[0] += 60.0
        decision = rate_limit_hit(key_id="key_r", limit=60)
        assert decision.allowed and decision.remaining == 59
        assert decision.reset_at == int(clock[0]) + 1


def _hit_concurrently(limit: int, extra: int, key_id: str) -> list[bool]:
    return run_concurrently(lambda _: rate_limit_hit(key_id=key_id, limit=limit).allowed, limit + extra)


def test_parallel_hits_admit_exactly_the_limit_in_embedded_mode():
    results = _hit_concurrently(20, 12, "key_p")
    assert results.count(True) == 20


@pytest.mark.redis
def test_parallel_hits_admit_exactly_the_limit_on_redis():
    """Each thread has its own cache connection (Django caches are per thread), like separate processes."""
    results = _hit_concurrently(25, 15, "key_pr")
    assert results.count(True) == 25


@pytest.mark.redis
def test_redis_clock_is_used_so_web_nodes_with_skewed_clocks_agree():
    with mock.patch("apikeys.ratelimit.time.time", return_value=0.0):
        assert all(rate_limit_hit(key_id="key_s", limit=3).allowed for _ in range(3))
    assert not rate_limit_hit(key_id="key_s", limit=3).allowed


def test_unreachable_redis_raises_service_unavailable(unreachable_redis):
    from api.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable):
        rate_limit_hit(key_id="key_x", limit=3)


@pytest.mark.django_db
def test_every_key_response_carries_consistent_rate_limit_headers(organization, api_key_for, key_client):
    _, raw_key = api_key_for(organization, rate_limit=4)
    client = key_client(raw_key)
    responses = [client.get(URL) for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert [r["X-RateLimit-Limit"] for r in responses] == ["4"] * 4
    assert [int(r["X-RateLimit-Remaining"]) for r in responses] == [3, 2, 1, 0]
    resets = [int(r["X-RateLimit-Reset"]) for r in responses]
    assert resets == sorted(resets) and resets[-1] <= int(time.time()) + 61

    refused = client.get(URL)
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "RateLimitExceeded" and body["code"] == 429
    assert body["details"]["limit"] == 4
    assert 1 <= int(refused["Retry-After"]) <= 15  # one request per 15 s at 4/min
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Limit"] == "4"


@pytest.mark.django_db
def test_default_limit_applies_when_the_key_has_none(organization, api_key_for, key_client, settings):
    _, raw_key = api_key_for(organization)
    response = key_client(raw_key).get(URL)
    assert response["X-RateLimit-Limit"] == str(settings.API_KEY_DEFAULT_RATE_LIMIT)


@pytest.mark.django_db
def test_requests_refused_for_scope_count_and_carry_headers(organization, api_key_for, key_client):
    _, raw_key = api_key_for(organization, scopes=["tryon:read"], rate_limit=2)
    client = key_client(raw_key)
    first = client.get(URL)
    assert first.status_code == 403 and first.json()["error"] == "InvalidScope"
    assert first["X-RateLimit-Remaining"] == "1"
    client.get(URL)
    assert client.get(URL).status_code == 429


@pytest.mark.django_db
def test_invalid_keys_get_no_rate_limit_headers(key_client):
    response = key_client("gx_live_" + "Q" * 40).get(URL)
    assert response.status_code == 401
    assert "X-RateLimit-Limit" not in response


@pytest.mark.redis
@pytest.mark.django_db
def test_parallel_partner_requests_admit_exactly_the_limit(organization, api_key_for, key_client):
    """N+k concurrent HTTP requests with one cached key: exactly N are answered, the rest get 429."""
    limit, extra = 12, 8
    _, raw_key = api_key_for(organization, rate_limit=limit + 1)
    assert key_client(raw_key).get(URL).status_code == 200  # verify (bcrypt) once; uses 1 of the limit
    statuses = run_concurrently(lambda _: key_client(raw_key).get(URL).status_code, limit + extra)
    assert statuses.count(200) == limit
    assert statuses.count(429) == extra


@pytest.mark.django_db
def test_token_endpoint_answers_503_when_redis_is_unreachable(client, owner, unreachable_redis):
    response = client.post(
        "/api/auth/token", {"username": owner.username, "password": "x"}, content_type="application/json"
    )
    assert response.status_code == 503
    assert response.json()["error"] == "ServiceUnavailable"


def test_decision_headers_are_strings_of_integers():
    decision = ratelimit.RateLimitDecision(allowed=True, limit=10, remaining=3, reset_at=123)
    assert decision.headers() == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "3",
        "X-RateLimit-Reset": "123",
    }
