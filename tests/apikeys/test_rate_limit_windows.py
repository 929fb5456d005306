"""A key's limits per minute, hour and day and its monthly quota: counted in one round trip, all or none, the
tightest window in the headers, the window that refused in the 429, changes through create and PATCH."""

from unittest import mock

import pytest
from rest_framework.test import APIClient

from apikeys import services
from apikeys.ratelimit import KeyWindows, windows_hit, windows_peek

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def partner(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def refused_by(response) -> str:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["error"] == "RateLimitExceeded" and body["code"] == 429
    assert int(response["Retry-After"]) >= 1
    return body["details"]["window"]


@pytest.mark.parametrize(
    ("limits", "window", "period"),
    [
        ({"rate_limit": 3, "rate_limit_per_hour": 1000}, "minute", 60),
        ({"rate_limit": 100, "rate_limit_per_hour": 3}, "hour", 3600),
        ({"rate_limit": 100, "rate_limit_per_hour": 100, "rate_limit_per_day": 3}, "day", 86400),
        ({"rate_limit": 100, "monthly_quota": 3}, "month", None),
    ],
)
def test_each_window_refuses_with_a_429_that_names_it(organization, api_key_for, limits, window, period):
    _, raw_key = api_key_for(organization, **limits)
    client = partner(raw_key)
    answers = [client.get("/api/v1/customers") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    # The headers report the tightest window: the one with 3.
    assert [(a["X-RateLimit-Limit"], a["X-RateLimit-Remaining"]) for a in answers] == [
        ("3", "2"),
        ("3", "1"),
        ("3", "0"),
    ]
    refused = client.get("/api/v1/customers")
    assert refused_by(refused) == window
    body = refused.json()
    assert body["details"]["limit"] == 3 and body["details"]["limitedBy"] == "key"
    assert window in body["message"]
    if period is not None:
        # One more request comes back after a third of the window (GCRA: 3 per period, one each period/3).
        assert period / 3 - 2 <= int(refused["Retry-After"]) <= period / 3 + 1


def test_a_request_one_window_refuses_is_counted_in_none(organization, api_key_for):
    key, raw_key = api_key_for(organization, rate_limit=100, rate_limit_per_hour=2, monthly_quota=10)
    client = partner(raw_key)
    assert [client.get("/api/v1/customers").status_code for _ in range(2)] == [200, 200]
    for _ in range(5):
        assert refused_by(client.get("/api/v1/customers")) == "hour"
    states = {s.window: s for s in windows_peek(key_prefix=key.key_prefix, windows=KeyWindows(100, 2, 0, 10))}
    assert states["minute"].remaining == 98 and states["month"].remaining == 8
    assert states["hour"].remaining == 0


def test_the_monthly_quota_shows_what_remains_in_the_account(organization, api_key_for):
    _, raw_key = api_key_for(organization, monthly_quota=5)
    client = partner(raw_key)
    client.get("/api/v1/customers")
    account = client.get("/api/v1/account").json()["apiKey"]
    assert account["monthlyQuota"] == 5 and account["monthlyQuotaRemaining"] == 3
    assert account["rateLimitPerHour"] == 1000 and account["rateLimitPerDay"] == 10000
    # The tightest window is the quota here: 3 left, against 58 of the minute.
    assert account["window"] == "month" and account["remaining"] == 3


def test_a_key_without_a_quota_shows_none(organization, api_key_for):
    _, raw_key = api_key_for(organization)
    account = partner(raw_key).get("/api/v1/account").json()["apiKey"]
    assert account["monthlyQuota"] is None and account["monthlyQuotaRemaining"] is None
    assert account["window"] == "minute" and account["remaining"] == 59


def test_the_defaults_are_settings_and_zero_means_no_limit_in_that_window(
    organization, api_key_for, settings
):
    settings.RATE_LIMIT_PER_HOUR_DEFAULT = 2
    settings.RATE_LIMIT_PER_DAY_DEFAULT = 0
    _, raw_key = api_key_for(organization)
    client = partner(raw_key)
    assert [client.get("/api/v1/customers").status_code for _ in range(2)] == [200, 200]
    assert refused_by(client.get("/api/v1/customers")) == "hour"
    windows = client.get("/api/v1/status/rate-limits")
    assert windows.status_code == 429  # the status read is a request like any other: counted, and refused


def test_the_rate_limit_status_lists_every_window_and_counts_only_itself(organization, api_key_for):
    _, raw_key = api_key_for(
        organization, rate_limit=10, monthly_quota=100, endpoint_limits={"customers:create": 4}
    )
    client = partner(raw_key)
    client.post("/api/v1/customers", {"externalId": "c1"}, format="json")
    answer = client.get("/api/v1/status/rate-limits")
    assert answer.status_code == 200
    body = answer.json()
    figures = {w["window"]: (w["limit"], w["remaining"]) for w in body["windows"]}
    # Two requests counted: the upsert and this read.
    assert figures == {"minute": (10, 8), "hour": (1000, 998), "day": (10000, 9998), "month": (100, 98)}
    assert body["tightest"] == "minute"
    assert [(o["operation"], o["limit"], o["remaining"]) for o in body["operations"]] == [
        ("customers:create", 4, 3)
    ]
    assert all(w["resetAt"] > 1_700_000_000 for w in body["windows"])


def test_the_rate_limit_status_needs_a_key_and_the_account_scope(organization, api_key_for):
    assert APIClient().get("/api/v1/status/rate-limits").status_code == 401
    _, raw_key = api_key_for(organization, scopes=["customers:read"])
    answer = partner(raw_key).get("/api/v1/status/rate-limits")
    assert answer.status_code == 403 and answer.json()["details"]["requiredScope"] == "account:read"


def test_keys_of_other_organizations_never_share_a_window(organization, other_organization, api_key_for):
    _, mine = api_key_for(organization, rate_limit_per_hour=1)
    _, theirs = api_key_for(other_organization, rate_limit_per_hour=1)
    assert partner(mine).get("/api/v1/customers").status_code == 200
    assert partner(theirs).get("/api/v1/customers").status_code == 200
    assert refused_by(partner(mine).get("/api/v1/customers")) == "hour"


def test_create_and_patch_set_the_windows_effective_on_the_next_request(
    organization, owner, jwt_client, api_key_for
):
    client = jwt_client(owner)
    created = client.post(
        f"/api/organizations/{organization.id}/api-keys",
        {"name": "limited", "scopes": ["all"], "rateLimitPerHour": 500, "rateLimitPerDay": 2000},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["rateLimitPerHour"], body["rateLimitPerDay"], body["monthlyQuota"]) == (500, 2000, None)
    key_path = f"/api/organizations/{organization.id}/api-keys/{body['id']}"
    key_client = partner(body["key"])
    assert key_client.get("/api/v1/customers")["X-RateLimit-Limit"] == "60"
    patched = client.patch(key_path, {"rateLimitPerHour": 1, "monthlyQuota": 7}, format="json")
    assert patched.status_code == 200 and patched.json()["monthlyQuota"] == 7
    assert refused_by(key_client.get("/api/v1/customers")) == "hour"
    events = client.get(f"{key_path}/events").json()["data"]
    assert events[0]["changes"]["rateLimitPerHour"] == {"from": 500, "to": 1}
    restored = client.patch(key_path, {"rateLimitPerHour": None, "monthlyQuota": None}, format="json").json()
    assert (restored["rateLimitPerHour"], restored["monthlyQuota"]) == (1000, None)
    assert key_client.get("/api/v1/customers").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rateLimitPerHour", -1),
        ("rateLimitPerHour", 0),
        ("rateLimitPerDay", -60),
        ("rateLimitPerDay", "many"),
        ("monthlyQuota", 0),
        ("monthlyQuota", 10**13),
        ("rateLimitPerHour", 10**12),
    ],
)
def test_a_bad_window_is_a_400_naming_it_and_changes_nothing(organization, owner, jwt_client, field, value):
    client = jwt_client(owner)
    created = client.post(
        f"/api/organizations/{organization.id}/api-keys",
        {"name": "k", "scopes": ["all"], field: value},
        format="json",
    )
    assert created.status_code == 400
    assert created.json()["error"] == "ValidationError" and field in created.json()["details"]
    key = client.post(
        f"/api/organizations/{organization.id}/api-keys", {"name": "k", "scopes": ["all"]}, format="json"
    ).json()
    patched = client.patch(
        f"/api/organizations/{organization.id}/api-keys/{key['id']}", {field: value}, format="json"
    )
    assert patched.status_code == 400 and field in patched.json()["details"]
    again = client.get(f"/api/organizations/{organization.id}/api-keys/{key['id']}").json()
    assert (again["rateLimitPerHour"], again["rateLimitPerDay"], again["monthlyQuota"]) == (1000, 10000, None)


def test_another_organizations_key_cannot_be_given_limits(
    organization, other_organization, owner, jwt_client, api_key_for
):
    theirs, _ = api_key_for(other_organization)
    answer = jwt_client(owner).patch(
        f"/api/organizations/{organization.id}/api-keys/{theirs.id}", {"rateLimitPerHour": 1}, format="json"
    )
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.rate_limit_per_hour is None


def test_a_roll_keeps_the_windows(organization, api_key_for):
    key, _ = api_key_for(organization, rate_limit_per_hour=7, rate_limit_per_day=70, monthly_quota=700)
    new, _ = services.apikey_roll(key=key)
    assert (new.rate_limit_per_hour, new.rate_limit_per_day, new.monthly_quota) == (7, 70, 700)


def test_windows_count_all_or_none_in_embedded_mode_too(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    clock = [1_000_000.0]
    windows = KeyWindows(minute=100, hour=2, day=0, month=3)
    with mock.patch("apikeys.ratelimit.time.time", side_effect=lambda: clock[0]):
        first = windows_hit(key_prefix="gx_live_local", windows=windows)
        assert first.allowed and (first.window, first.limit, first.remaining) == ("hour", 2, 1)
        assert windows_hit(key_prefix="gx_live_local", windows=windows).allowed
        refused = windows_hit(key_prefix="gx_live_local", windows=windows)
        assert not refused.allowed and refused.window == "hour" and refused.retry_after == 1800
        clock[0] += 3600
        last = windows_hit(key_prefix="gx_live_local", windows=windows)
        assert last.allowed and (last.window, last.remaining) == ("month", 0)
        assert windows_hit(key_prefix="gx_live_local", windows=windows).window == "month"
        states = {s.window: s.remaining for s in windows_peek(key_prefix="gx_live_local", windows=windows)}
    assert states == {"minute": 99, "hour": 1, "month": 0}  # the minute refilled in that hour
