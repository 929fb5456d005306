from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.models import Membership

pytestmark = pytest.mark.django_db


def logs_url(organization, suffix=""):
    return f"/api/organizations/{organization.id}/logs/requests{suffix}"


def key_client(raw_key, address="203.0.113.9"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def test_every_partner_request_is_logged_with_request_id_error_code_and_client_address(
    organization, owner, api_key_for, jwt_client, flush
):
    key, raw_key = api_key_for(organization, scopes=["customers:read"])
    client = key_client(raw_key)
    ok = client.get("/api/v1/customers")
    missing = client.get("/api/v1/customers/nobody")
    refused = client.post("/api/v1/customers", {"externalId": "x"}, format="json")  # no customers:create
    flush()

    page = jwt_client(owner).get(logs_url(organization)).json()
    assert page["total"] == 3 and page["hasMore"] is False
    newest, middle, oldest = page["data"]
    assert newest == {
        "id": newest["id"],
        "requestId": refused["X-Request-Id"],
        "keyId": key.id,
        "method": "POST",
        "route": "/api/v1/customers",
        "statusCode": 403,
        "errorCode": "InvalidScope",
        "durationMs": newest["durationMs"],
        "clientAddress": "203.0.113.9",
        "createdAt": newest["createdAt"],
    }
    assert (middle["requestId"], middle["route"], middle["statusCode"], middle["errorCode"]) == (
        missing["X-Request-Id"],
        "/api/v1/customers/{externalId}",
        404,
        "ResourceNotFound",
    )
    assert (oldest["requestId"], oldest["statusCode"], oldest["errorCode"]) == (ok["X-Request-Id"], 200, None)
    assert missing.json()["requestId"] == middle["requestId"]  # the id in an error body finds its entry
    assert len({newest["id"], middle["id"], oldest["id"]}) == 3 and newest["id"].startswith("log_")


def test_the_entry_behind_an_error_is_found_by_its_request_id(
    organization, other_organization, owner, api_key_for, jwt_client, member_of, flush
):
    _, raw_key = api_key_for(organization)
    request_id = key_client(raw_key).get("/api/v1/customers/nobody").json()["requestId"]
    flush()

    entry = jwt_client(owner).get(logs_url(organization, f"/{request_id}"))
    assert entry.status_code == 200
    assert entry.json()["requestId"] == request_id and entry.json()["errorCode"] == "ResourceNotFound"
    # The same request id through another organization's log is a 404, for its members too.
    rival_member = member_of(other_organization)
    response = jwt_client(rival_member).get(logs_url(other_organization, f"/{request_id}"))
    assert response.status_code == 404 and response.json()["error"] == "ResourceNotFound"
    assert jwt_client(owner).get(logs_url(organization, "/req_unknown")).status_code == 404


def test_filters_by_status_class_status_key_route_and_time(
    organization, owner, api_key_for, jwt_client, store
):
    key, _ = api_key_for(organization, name="one")
    other_key, _ = api_key_for(organization, name="two")
    now = timezone.now()
    store(key, at=now - timedelta(hours=3), status_code=200, request_id="req_a")
    store(
        key,
        at=now - timedelta(hours=2),
        status_code=404,
        route="/api/v1/customers/{externalId}",
        request_id="req_b",
    )
    store(other_key, at=now - timedelta(hours=1), status_code=503, request_id="req_c")
    store(other_key, at=now, status_code=429, request_id="req_d")
    client = jwt_client(owner)

    def ids(**params):
        response = client.get(logs_url(organization), params)
        assert response.status_code == 200, response.content
        return [entry["requestId"] for entry in response.json()["data"]]

    assert ids() == ["req_d", "req_c", "req_b", "req_a"]
    assert ids(status="4xx") == ["req_d", "req_b"]
    assert ids(status="503") == ["req_c"]
    assert ids(keyId=key.id) == ["req_b", "req_a"]
    assert ids(route="/api/v1/customers/{externalId}") == ["req_b"]
    assert ids(
        **{
            "from": (now - timedelta(hours=2, minutes=30)).isoformat(),
            "to": (now - timedelta(minutes=30)).isoformat(),
        }
    ) == [
        "req_c",
        "req_b",
    ]
    # "²" and "٤٠٤" are digits to str.isdigit() but no status code ("²" was a 500, found by fuzzing).
    for bad in (
        {"status": "teapot"},
        {"status": "999"},
        {"status": "²"},
        {"status": "٤٠٤"},
        {"from": "yesterday"},
    ):
        response = client.get(logs_url(organization), bad)
        assert response.status_code == 400 and response.json()["error"] == "ValidationError"


def test_the_log_pages_newest_first_with_cursors(organization, owner, api_key_for, jwt_client, store):
    key, _ = api_key_for(organization)
    now = timezone.now()
    for n in range(5):
        store(key, at=now - timedelta(minutes=n), request_id=f"req_{n}")
    client = jwt_client(owner)
    first = client.get(logs_url(organization), {"limit": 2}).json()
    assert [e["requestId"] for e in first["data"]] == ["req_0", "req_1"] and first["hasMore"] is True
    second = client.get(logs_url(organization), {"limit": 2, "cursor": "req_1"}).json()
    assert [e["requestId"] for e in second["data"]] == ["req_2", "req_3"] and second["hasMore"] is True
    last = client.get(logs_url(organization), {"limit": 2, "startingAfter": "req_3"}).json()
    assert [e["requestId"] for e in last["data"]] == ["req_4"] and last["hasMore"] is False
    back = client.get(logs_url(organization), {"limit": 2, "endingBefore": "req_2"}).json()
    assert [e["requestId"] for e in back["data"]] == ["req_0", "req_1"] and back["hasMore"] is False


def test_api_keys_need_usage_read_and_see_only_their_own_organization(
    organization, other_organization, api_key_for, flush
):
    _, reader = api_key_for(organization, scopes=["usage:read"])
    _, writer = api_key_for(organization, scopes=["customers:create"])
    _, rival_reader = api_key_for(other_organization, scopes=["usage:read"])
    key_client(writer).get("/api/v1/customers")  # 403, logged
    flush()

    response = key_client(reader).get(logs_url(organization))
    assert response.status_code == 200 and response.json()["total"] == 1
    assert "X-RateLimit-Limit" in response  # a partner call like any other
    refused = key_client(writer).get(logs_url(organization))
    assert refused.status_code == 403 and refused.json()["error"] == "InvalidScope"
    assert refused.json()["details"]["requiredScope"] == "usage:read"
    assert key_client(rival_reader).get(logs_url(organization)).status_code == 404
    assert key_client(rival_reader).get(f"/api/organizations/{organization.id}/usage").status_code == 404
    # Reading the log is itself logged (after the flush): partners see their monitoring calls too.
    flush()
    assert key_client(reader).get(logs_url(organization), {"keyId": "nobody"}).json()["total"] == 0


def test_members_read_the_log_and_strangers_get_404(
    organization, api_key_for, jwt_client, member_of, stranger
):
    member = member_of(organization, role=Membership.Role.VIEWER)
    assert jwt_client(member).get(logs_url(organization)).status_code == 200
    assert jwt_client(stranger).get(logs_url(organization)).status_code == 404
    assert jwt_client(stranger).get(f"/api/organizations/{organization.id}/usage").status_code == 404
    anonymous = jwt_client(None).get(logs_url(organization))
    assert anonymous.status_code == 401


def test_a_retried_request_id_loses_no_entry_when_the_log_is_paged_one_by_one(
    organization, owner, api_key_for, jwt_client, store
):
    """Issue 27 item 5: six requests, three of them one partner's retries under one X-Request-Id, paged with
    limit=1 gave 2 entries and then hasMore false (the cursor was the request id)."""
    key, _ = api_key_for(organization)
    now = timezone.now()
    for n, request_id in enumerate(["req-retried-1", "req-a-000001", "req-retried-1", "req-b-000002"]):
        store(key, at=now - timedelta(minutes=n), request_id=request_id)
    store(key, at=now - timedelta(minutes=4), request_id="req-retried-1")
    store(key, at=now - timedelta(minutes=4), request_id="req-c-000003")  # same microsecond as the one above
    client = jwt_client(owner)

    seen, params = [], {"limit": 1}
    while True:
        page = client.get(logs_url(organization), params).json()
        seen += page["data"]
        if not page["hasMore"]:
            break
        params = {"limit": 1, "cursor": page["data"][-1]["id"]}
    assert len(seen) == 6 and len({entry["id"] for entry in seen}) == 6
    assert [entry["requestId"] for entry in seen].count("req-retried-1") == 3
    # Backwards from the last entry, with startingAfter's counterpart, the same six in the same order.
    back = client.get(logs_url(organization), {"limit": 5, "endingBefore": seen[-1]["id"]}).json()
    assert [entry["id"] for entry in back["data"]] == [entry["id"] for entry in seen[:5]]
    # A request id still pages where it names one entry; one a retry repeated is refused, saying why.
    after_unique = client.get(logs_url(organization), {"limit": 1, "startingAfter": "req-a-000001"}).json()
    assert after_unique["data"][0]["id"] == seen[2]["id"]
    ambiguous = client.get(logs_url(organization), {"limit": 1, "cursor": "req-retried-1"})
    assert ambiguous.status_code == 400 and ambiguous.json()["error"] == "ValidationError"
    assert "several entries" in ambiguous.json()["message"]
    for bad in ("log_AAAAAAAAAAAAAAAAAAAAAA", "log_x", "log_" + "!" * 22):
        response = client.get(logs_url(organization), {"cursor": bad})
        assert response.status_code == 400 and response.json()["error"] == "ValidationError"
    # One entry by its own id, or by its request id (the latest of a retried one).
    assert client.get(logs_url(organization, f"/{seen[3]['id']}")).json()["id"] == seen[3]["id"]
    assert client.get(logs_url(organization, "/req-retried-1")).json()["id"] == seen[0]["id"]


def test_a_request_id_of_128_characters_is_logged_and_found_as_sent(
    organization, owner, api_key_for, jwt_client, flush
):
    """Issue 27 item 5: the log kept 64 characters of the request id, so a 104-character id answered 404."""
    _, raw_key = api_key_for(organization)
    long_id = "partner-retry." + "a1b2c3d4" * 14 + "z" * 2  # 128 characters, all the middleware takes
    assert len(long_id) == 128
    response = key_client(raw_key).get("/api/v1/customers/nobody", HTTP_X_REQUEST_ID=long_id)
    assert response["X-Request-Id"] == long_id
    flush()
    entry = jwt_client(owner).get(logs_url(organization, f"/{long_id}"))
    assert entry.status_code == 200 and entry.json()["requestId"] == long_id
    assert jwt_client(owner).get(logs_url(organization, f"/{long_id[:64]}")).status_code == 404
