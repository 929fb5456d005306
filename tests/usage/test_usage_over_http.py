"""Issue 27 items 3, 4 and 5 from the attacker's side of the wire: HTTP against `gunicorn config.wsgi -w 4`
(tests/live_service.py) with default settings, data built through the ORM.

- 3: a usage read for an old period wrote one CreditRollup row per hour (744 a request, back to year 1), and
  a signed-in user had no request limit at all.
- 4: dates at the edges were 500s.
- 5: the request log paged on request ids, which retries repeat, and kept 64 characters of them.
"""

import pytest
import requests

from tests.factories import UserFactory, make_organization
from tests.live_service import (  # noqa: F401 (live_service: a fixture)
    jwt_headers,
    live_service,
    partner_headers,
    usage_flush_after_push,
)
from usage.models import CreditRollup

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _shop():
    owner = UserFactory()
    organization = make_organization(owner=owner, name="Edge Shop")
    return owner, organization, partner_headers(organization, name="reader")


def test_reading_usage_of_a_period_before_retention_is_a_400_and_writes_nothing(
    live_service,  # noqa: F811
    transactional_db,
):
    owner, organization, key = _shop()
    jwt = jwt_headers(owner)
    url = live_service.url(f"/api/organizations/{organization.id}/usage")
    old_month = {"granularity": "hour", "from": "2001-01-01T00:00:00Z", "to": "2001-01-31T00:00:00Z"}

    for headers in (jwt, key):
        response = requests.get(url, params=old_month, headers=headers, timeout=10)
        # The regression: a 200, and 720 CreditRollup rows of zeros for January 2001.
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "ValidationError" and "from" in body["details"]
        assert "400 days" in body["message"] and "USAGE_ROLLUP_RETENTION_DAYS" in body["message"]
    assert CreditRollup.objects.filter(organization_id=organization.id).count() == 0

    # Inside retention a read still answers, and anything it keeps is inside retention.
    recent = requests.get(url, params={"granularity": "hour"}, headers=jwt, timeout=10)
    assert recent.status_code == 200 and len(recent.json()["series"]) in (24, 25)
    # `to` alone, far back: the default `from` would be before retention too, so `to` is named.
    stale = requests.get(url, params={"to": "2020-01-01T00:00:00Z"}, headers=jwt, timeout=10)
    assert stale.status_code == 400 and "to" in stale.json()["details"]


def test_a_signed_in_user_gets_a_request_limit_with_429_and_retry_after(
    live_service,  # noqa: F811
    transactional_db,
):
    owner, organization, _ = _shop()
    bystander = UserFactory()
    jwt, bystander_jwt = jwt_headers(owner), jwt_headers(bystander)
    url = live_service.url(f"/api/organizations/{organization.id}")

    session = requests.Session()
    statuses, refused = [], None
    for _ in range(200):  # API_USER_RATE_LIMIT's default is 120 a minute
        response = session.get(url, headers=jwt, timeout=10)
        statuses.append(response.status_code)
        if response.status_code == 429:
            refused = response
            break
    assert refused is not None, f"no 429 in {len(statuses)} requests"
    assert 120 <= len(statuses) <= 200 and set(statuses[:-1]) == {200}
    body = refused.json()
    assert body["error"] == "RateLimitExceeded" and body["code"] == 429
    assert body["details"]["limitedBy"] == "user" and body["details"]["limit"] == 120
    assert int(refused.headers["Retry-After"]) >= 1 and body["details"]["retryAfter"] >= 1
    # Another user is not refused for this one's requests (a 404: not a member); usage reads count too.
    assert requests.get(url, headers=bystander_jwt, timeout=10).status_code == 404
    usage_read = requests.get(
        live_service.url(f"/api/organizations/{organization.id}/usage"), headers=jwt, timeout=10
    )
    assert usage_read.status_code == 429 and usage_read.json()["details"]["limitedBy"] == "user"


EDGES = [
    ("/api/v1/account/ledger", {"to": "9999-12-31"}, "to"),
    ("/api/v1/account/ledger", {"to": "0001-01-01T00:00:00+23:59"}, "to"),
    ("/api/v1/account/ledger", {"from": "9999-12-31T23:59:59-23:59"}, "from"),
    ("/api/v1/account/ledger", {"from": "0001-01-01"}, "from"),
    ("{org}/usage", {"to": "0001-01-01T00:00:00Z"}, "to"),
    ("{org}/usage", {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:00:00Z"}, "to"),
    (
        "{org}/usage",
        {"granularity": "day", "from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"},
        "from",
    ),
    ("{org}/logs/requests", {"to": "0001-01-01T00:00:00+23:59"}, "to"),
    ("{org}/logs/requests", {"from": "9999-12-31T23:59:59-23:59"}, "from"),
]


def test_dates_at_the_edges_are_400s_naming_the_field(
    live_service,  # noqa: F811
    transactional_db,
):
    _, organization, key = _shop()
    answers = []
    for path, params, field in EDGES:
        url = live_service.url(path.replace("{org}", f"/api/organizations/{organization.id}"))
        response = requests.get(url, params=params, headers=key, timeout=10)
        body = response.json()
        named = (
            response.status_code == 400 and body["error"] == "ValidationError" and field in body["details"]
        )
        answers.append((path, params, response.status_code, named))
    # The regression: a 500 for each edge, and a 200 with "start": "1-01-01T00:00:00Z" for year 1.
    assert [answer for answer in answers if not answer[3]] == []


def test_the_request_log_pages_every_entry_when_retries_repeat_a_request_id(
    live_service,  # noqa: F811
    transactional_db,
):
    owner, organization, key = _shop()
    session = requests.Session()
    for request_id in [
        "retry-0000001",
        "other-0000001",
        "retry-0000001",
        "other-0000002",
        "retry-0000001",
        "x" * 8,
    ]:
        session.get(
            live_service.url("/api/v1/customers/nobody"),
            headers={**key, "X-Request-Id": request_id},
            timeout=10,
        )
    usage_flush_after_push()
    jwt = jwt_headers(owner)
    url = live_service.url(f"/api/organizations/{organization.id}/logs/requests")

    seen, params = [], {"limit": 1}
    for _ in range(10):
        page = session.get(url, params=params, headers=jwt, timeout=10).json()
        assert "data" in page, page
        seen += page["data"]
        if not page["hasMore"]:
            break
        # The README: page on with `startingAfter` = the last entry's `id` (a request id as the cursor, which
        # retries repeat, gives 2 entries and then hasMore false).
        last = page["data"][-1]
        params = {"limit": 1, "startingAfter": last.get("id") or last["requestId"]}
    assert [entry["requestId"] for entry in seen].count("retry-0000001") == 3, [e["requestId"] for e in seen]
    assert len(seen) == 6 and len({entry["id"] for entry in seen}) == 6


def test_a_request_id_of_up_to_128_characters_is_logged_whole_and_found(
    live_service,  # noqa: F811
    transactional_db,
):
    owner, organization, key = _shop()
    long_id = "partner.retry-" + "0123456789" * 9  # 104 characters
    answered = requests.get(
        live_service.url("/api/v1/customers/nobody"), headers={**key, "X-Request-Id": long_id}, timeout=10
    )
    assert answered.headers["X-Request-Id"] == long_id and answered.json()["requestId"] == long_id
    usage_flush_after_push()
    entry = requests.get(
        live_service.url(f"/api/organizations/{organization.id}/logs/requests/{long_id}"),
        headers=jwt_headers(owner),
        timeout=10,
    )
    # The regression: a 404 (the log kept the first 64 characters).
    assert entry.status_code == 200, entry.text
    assert entry.json()["requestId"] == long_id and entry.json()["errorCode"] == "ResourceNotFound"
