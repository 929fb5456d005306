from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from api.routes import route_template
from apikeys.models import ApiKey
from infrastructure.shared_cache import redis_client
from organizations.models import Membership
from tests.concurrency import wait_until
from usage import buffer, tasks
from usage.models import RequestLogEntry, UsageRollup
from usage.services import request_log_maintain

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apikeys.urls")]


@pytest.fixture(autouse=True)
def _empty_batch():
    buffer.usage_batch_push()  # nothing from an earlier test lands in this one's Redis db
    redis = redis_client()
    if redis is not None:
        redis.delete(buffer.BUFFER_KEY)


def flush():
    """Stand-in for the pusher thread and the beat tick (in embedded mode records are already stored)."""
    buffer.usage_batch_push()
    return tasks.flush_usage()


def store(key, *, at, method="GET", route="/r", status_code=200, duration_ms=1):
    """One record through the flush's own write path (request log and rollups)."""
    buffer._store([(key.id, method, route, status_code, duration_ms, at.timestamp())])


def usage_url(organization, key):
    return f"/api/organizations/{organization.id}/api-keys/{key.id}/usage"


@pytest.mark.parametrize(
    ("route", "template"),
    [
        ("api/v1/customers/<str:external_id>", "/api/v1/customers/{externalId}"),
        ("api/^v1/cart-tryons/(?P<pk>[^/.]+)/cancel$", "/api/v1/cart-tryons/{pk}/cancel"),
        ("api/v1/customers/<str:externalId>/photos", "/api/v1/customers/{externalId}/photos"),
        ("api/^v1/webhooks$", "/api/v1/webhooks"),
    ],
)
def test_route_template_names_parameters_not_values(route, template):
    assert route_template(route) == template


def test_every_partner_request_is_recorded_with_route_template_status_and_duration(
    organization, api_key_for, key_client
):
    key, raw_key = api_key_for(organization, scopes=["customers:read"], rate_limit=3)
    client = key_client(raw_key)
    client.get("/api/v1/test-things/abc")
    client.post("/api/v1/test-things/xyz", {}, format="json")  # 403: no customers:create
    client.get("/api/v1/test-things/def")
    client.get("/api/v1/test-things/ghi")  # 429
    key_client("gx_live_" + "N" * 40).get("/api/v1/test-things/abc")  # unknown key: nobody to charge it to
    flush()

    records = list(RequestLogEntry.objects.order_by("created_at", "id"))
    assert [(r.method, r.status_code) for r in records] == [
        ("GET", 200),
        ("POST", 403),
        ("GET", 200),
        ("GET", 429),
    ]
    assert {r.route for r in records} == {"/api/v1/test-things/{thingId}"}
    assert all(r.api_key_id == key.id and r.duration_ms >= 0 for r in records)
    key.refresh_from_db()
    assert key.usage_count == 4
    assert key.last_used_at is not None and abs(key.last_used_at - timezone.now()) < timedelta(minutes=1)


@pytest.mark.redis
def test_in_production_requests_are_buffered_in_redis_until_the_flush(organization, api_key_for, key_client):
    key, raw_key = api_key_for(organization)
    client = key_client(raw_key)
    for _ in range(3):
        client.get("/api/v1/test-things/a")
    # Within about a second the web process's pusher thread moves its batch onto the Redis list.
    wait_until(lambda: redis_client().llen(buffer.BUFFER_KEY) >= 3, timeout=5)
    assert redis_client().llen(buffer.BUFFER_KEY) == 3
    assert RequestLogEntry.objects.count() == 0  # the database only sees them at the flush
    assert tasks.flush_usage() == 3
    assert redis_client().llen(buffer.BUFFER_KEY) == 0
    assert RequestLogEntry.objects.count() == 3
    assert flush() == 0  # nothing counted twice
    key.refresh_from_db()
    assert key.usage_count == 3


@pytest.mark.redis
def test_a_flush_that_fails_keeps_the_batch_for_the_next_run(
    organization, api_key_for, key_client, monkeypatch
):
    key, raw_key = api_key_for(organization)
    key_client(raw_key).get("/api/v1/test-things/a")
    buffer.usage_batch_push()

    def broken(rows):
        raise RuntimeError("database went away")

    monkeypatch.setattr(buffer, "_store", broken)
    with pytest.raises(RuntimeError):
        buffer.usage_flush()
    monkeypatch.undo()
    assert buffer.usage_flush() == 1
    key.refresh_from_db()
    assert key.usage_count == 1


def test_counters_only_move_forward(organization, api_key_for):
    key, _ = api_key_for(organization)
    now = timezone.now().timestamp()
    buffer._store([(key.id, "GET", "/api/v1/x", 200, 5, now)])
    buffer._store([(key.id, "GET", "/api/v1/x", 200, 5, now - 3600)])  # a late batch
    key.refresh_from_db()
    assert key.usage_count == 2
    assert abs(key.last_used_at.timestamp() - now) < 0.01


def test_records_of_a_deleted_key_are_dropped_not_crashing_the_flush(organization, api_key_for):
    key, _ = api_key_for(organization)
    now = timezone.now().timestamp()
    buffer._store([("key_gone", "GET", "/api/v1/x", 200, 1, now), (key.id, "GET", "/api/v1/x", 200, 1, now)])
    assert list(RequestLogEntry.objects.values_list("api_key_id", flat=True)) == [key.id]


def test_prune_drops_records_older_than_retention(organization, api_key_for, settings):
    settings.API_USAGE_RETENTION_DAYS = 30
    key, _ = api_key_for(organization)
    now = timezone.now()
    for age_days in (1, 10, 20, 29):
        store(key, at=now - timedelta(days=age_days))
    tasks.prune_usage()
    assert RequestLogEntry.objects.count() == 4
    # Fifteen days later the two oldest days are past the retention (whole days go on PostgreSQL).
    request_log_maintain(now=now + timedelta(days=15))
    ages = sorted((now - r.created_at).days for r in RequestLogEntry.objects.all())
    assert ages == [1, 10]


def test_records_dated_outside_the_retention_window_are_not_stored(organization, api_key_for, settings):
    settings.API_USAGE_RETENTION_DAYS = 30
    key, _ = api_key_for(organization)
    now = timezone.now()
    for at in (now - timedelta(days=400), now + timedelta(days=30), now):  # skewed clocks, then a good one
        store(key, at=at)
    assert [r.created_at for r in RequestLogEntry.objects.all()] == [now]
    assert sum(UsageRollup.objects.filter(period="hour").values_list("requests", flat=True)) == 1


def test_usage_statistics_by_day_endpoint_and_status_class(organization, owner, api_key_for, jwt_client):
    key, _ = api_key_for(organization)
    other_key, _ = api_key_for(organization, name="other")
    now = timezone.now()
    today = now.date()
    yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    rows = [
        (now, "GET", "/api/v1/customers", 200, 10),
        (now, "GET", "/api/v1/customers", 200, 20),
        (now, "POST", "/api/v1/customers", 400, 30),
        (yesterday, "GET", "/api/v1/customers/{externalId}", 404, 40),
        (yesterday, "POST", "/api/v1/cart-tryons", 201, 50),
        (yesterday, "POST", "/api/v1/cart-tryons", 503, 60),
        (now - timedelta(days=10), "GET", "/api/v1/customers", 200, 70),  # outside a 7-day window
    ]
    for at, method, route, status_code, ms in rows:
        store(key, at=at, method=method, route=route, status_code=status_code, duration_ms=ms)
    store(other_key, at=now, route="/api/v1/customers")

    response = jwt_client(owner).get(usage_url(organization, key) + "?days=7")
    assert response.status_code == 200
    stats = response.json()
    assert stats["keyId"] == key.id and stats["days"] == 7
    assert stats["to"] == today.isoformat()
    assert stats["from"] == (today - timedelta(days=6)).isoformat()
    assert stats["totals"] == {"requests": 6, "errors": 3, "averageDurationMs": 35.0}
    assert len(stats["byDay"]) == 7
    assert stats["byDay"][-1] == {"date": today.isoformat(), "requests": 3, "errors": 1}
    assert stats["byDay"][-2] == {"date": (today - timedelta(days=1)).isoformat(), "requests": 3, "errors": 2}
    assert sum(d["requests"] for d in stats["byDay"]) == 6
    assert stats["byStatusClass"] == {"2xx": 3, "3xx": 0, "4xx": 2, "5xx": 1}
    endpoints = {(e["method"], e["route"]): e for e in stats["byEndpoint"]}
    assert endpoints[("GET", "/api/v1/customers")] == {
        "method": "GET",
        "route": "/api/v1/customers",
        "requests": 2,
        "errors": 0,
        "averageDurationMs": 15.0,
    }
    assert endpoints[("POST", "/api/v1/cart-tryons")]["errors"] == 1
    assert len(endpoints) == 4

    wide = jwt_client(owner).get(usage_url(organization, key) + "?days=30").json()
    assert wide["totals"]["requests"] == 7


def test_usage_counts_real_requests_end_to_end(organization, owner, api_key_for, key_client, jwt_client):
    key, raw_key = api_key_for(organization, scopes=["customers:read"])
    client = key_client(raw_key)
    for _ in range(3):
        client.get("/api/v1/test-things/a")
    client.post("/api/v1/test-things/a", {}, format="json")
    flush()
    stats = jwt_client(owner).get(usage_url(organization, key) + "?days=1").json()
    assert stats["totals"]["requests"] == 4
    assert stats["byStatusClass"]["4xx"] == 1
    listed = jwt_client(owner).get(f"/api/organizations/{organization.id}/api-keys/{key.id}").json()
    assert listed["usageCount"] == 4 and listed["lastUsedAt"] is not None


@pytest.mark.parametrize("days", ["0", "91", "abc", "-3"])
def test_usage_window_is_validated(organization, owner, api_key_for, jwt_client, days):
    key, _ = api_key_for(organization)
    response = jwt_client(owner).get(usage_url(organization, key) + f"?days={days}")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert "days" in response.json()["details"]


def test_members_can_read_usage_and_strangers_and_other_organizations_get_404(
    organization, other_organization, api_key_for, jwt_client, member_of, stranger
):
    key, _ = api_key_for(organization)
    member = member_of(organization, role=Membership.Role.VIEWER)
    assert jwt_client(member).get(usage_url(organization, key)).status_code == 200
    assert jwt_client(stranger).get(usage_url(organization, key)).status_code == 404
    outsider = member_of(other_organization)
    # Another organization's key through one's own organization id is a 404 as well.
    assert jwt_client(outsider).get(usage_url(other_organization, key)).status_code == 404
    assert jwt_client(None).get(usage_url(organization, key)).status_code == 401


def test_usage_count_matches_records_after_many_requests(organization, api_key_for, key_client):
    key, raw_key = api_key_for(organization, rate_limit=100)
    client = key_client(raw_key)
    for _ in range(25):
        client.get("/api/v1/test-things/a")
    flush()
    key.refresh_from_db()
    assert key.usage_count == RequestLogEntry.objects.filter(api_key_id=key.id).count() == 25
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


@pytest.mark.redis
def test_a_full_batch_is_pushed_at_once_and_a_failed_push_is_retried(monkeypatch):
    monkeypatch.setattr(buffer, "BATCH_MAX", 3)
    monkeypatch.setattr(buffer, "_pusher_ensure_running", lambda: None)  # only the size trigger here
    for n in range(2):
        buffer.usage_record(key_id="key_x", method="GET", route="/r", status_code=200, duration_ms=n)
    assert redis_client().llen(buffer.BUFFER_KEY) == 0
    buffer.usage_record(key_id="key_x", method="GET", route="/r", status_code=200, duration_ms=2)
    assert redis_client().llen(buffer.BUFFER_KEY) == 3

    buffer.usage_record(key_id="key_x", method="GET", route="/r", status_code=500, duration_ms=3)
    with monkeypatch.context() as patched:
        patched.setattr(buffer, "redis_client", lambda: None)  # the push fails: nothing to push to
        assert buffer.usage_batch_push() == 0
    assert buffer.usage_batch_push() == 1
    assert redis_client().llen(buffer.BUFFER_KEY) == 4
