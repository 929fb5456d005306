"""An endpoint's own policy: its retry schedule, its metadata, its custom headers (write-only values, never a
hop-by-hop or signature header), and a receiver's `webhook-delivery: abort-message` ending the retries."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tests.webhooks.factories import cart_completed_data
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services, tasks
from webhooks.models import Webhook, WebhookDelivery

# Endpoints on loopback (this machine reaches no public host): allowed for these tests only.
pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.usefixtures("private_targets")]

EVENTS = [CART_TRYON_COMPLETED.name]


@pytest.fixture
def partner(organization, api_key_for):
    _, raw_key = api_key_for(organization, scopes=["webhooks:manage"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def create(partner, url="http://127.0.0.1:9/garmax", **fields):
    return partner.post("/api/v1/webhooks", {"url": url, "events": EVENTS, **fields}, format="json")


def record_event(organization):
    with transaction.atomic():
        return services.webhook_event_record(
            organization_id=organization.id, event=EVENTS[0], data=cart_completed_data(organization)
        )


def test_an_endpoint_without_a_policy_follows_its_organization(partner):
    body = create(partner).json()
    assert body["retryPolicy"] == {"maxRetries": 3, "schedule": [5, 15, 45], "inherited": True}
    assert body["metadata"] == {} and body["headers"] == {}


def test_policy_metadata_and_headers_are_kept_and_header_values_never_shown(partner):
    metadata = {"shop": "eu-1", "owner": {"team": "checkout", "ids": [1, 2]}, "note": "line one\nline two"}
    created = create(
        partner,
        retryPolicy={"maxRetries": 5, "schedule": [2, 60]},
        metadata=metadata,
        headers={"Authorization": "Bearer s3cret-token", "X-Shop-Region": "eu"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    # Retries beyond the schedule wait 3x the one before.
    assert body["retryPolicy"] == {"maxRetries": 5, "schedule": [2, 60, 180, 540, 1620], "inherited": False}
    assert body["metadata"] == metadata
    assert body["headers"] == {"Authorization": "********", "X-Shop-Region": "********"}
    read = partner.get(f"/api/v1/webhooks/{body['id']}")
    assert b"s3cret-token" not in read.content and b"s3cret-token" not in created.content
    assert read.json()["metadata"] == metadata
    listed = partner.get("/api/v1/webhooks")
    assert b"s3cret-token" not in listed.content


def test_patch_merges_headers_restores_the_default_policy_and_replaces_metadata(partner):
    webhook_id = create(
        partner,
        retryPolicy={"maxRetries": 1},
        metadata={"a": 1},
        headers={"Authorization": "Bearer one", "X-Drop": "me"},
    ).json()["id"]
    patched = partner.patch(
        f"/api/v1/webhooks/{webhook_id}",
        {
            "retryPolicy": None,
            "metadata": {"b": 2},
            "headers": {"authorization": "Bearer two", "X-Drop": None},
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["retryPolicy"]["inherited"] is True and body["metadata"] == {"b": 2}
    assert body["headers"] == {"authorization": "********"}
    assert Webhook.objects.get(pk=webhook_id).headers == {"authorization": "Bearer two"}


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"headers": {"Host": "evil.example"}}, "headers.Host"),
        ({"headers": {"webhook-signature": "v1,forged"}}, "headers.webhook-signature"),
        ({"headers": {"X-Webhook-Signature": "forged"}}, "headers.X-Webhook-Signature"),
        ({"headers": {"X-Garmax-Anything": "x"}}, "headers.X-Garmax-Anything"),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "headers.Transfer-Encoding"),
        ({"headers": {"Content-Length": "1"}}, "headers.Content-Length"),
        ({"headers": {"X-Split": "a\r\nInjected: yes"}}, "headers.X-Split"),
        ({"headers": {"Bad Name": "x"}}, "headers.Bad Name"),
        ({"headers": {"X-Empty": ""}}, "headers.X-Empty"),
        ({"headers": {f"X-H{i}": "v" for i in range(11)}}, "headers"),
        ({"headers": ["Authorization"]}, "headers"),
        ({"retryPolicy": {"maxRetries": 50}}, "retryPolicy"),
        ({"retryPolicy": {"maxRetries": -1}}, "retryPolicy"),
        ({"retryPolicy": {"maxRetries": 2, "schedule": [-5]}}, "retryPolicy"),
        ({"retryPolicy": {"maxRetries": 2, "schedule": []}}, "retryPolicy"),
        ({"retryPolicy": {"maxRetries": 2, "schedule": [5] * 9}}, "retryPolicy"),
        ({"retryPolicy": {"schedule": [5]}}, "retryPolicy"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": {"big": "x" * 9000}}, "metadata"),
    ],
)
def test_bad_policy_input_is_a_400_naming_the_field_and_changes_nothing(partner, fields, detail):
    refused = create(partner, **fields)
    assert refused.status_code == 400, refused.content
    body = refused.json()
    assert body["error"] == "ValidationError" and body["code"] == 400
    assert any(key == detail or key.startswith(f"{detail}.") for key in body["details"]), body["details"]
    assert not Webhook.objects.exists()
    webhook_id = create(partner, headers={"Authorization": "Bearer kept"}).json()["id"]
    patched = partner.patch(f"/api/v1/webhooks/{webhook_id}", fields, format="json")
    assert patched.status_code == 400, patched.content
    webhook = Webhook.objects.get(pk=webhook_id)
    assert (webhook.retry_policy, webhook.metadata, webhook.headers) == (
        None,
        {},
        {"Authorization": "Bearer kept"},
    )


def test_another_organizations_endpoint_is_a_404_and_keeps_its_policy(
    partner, other_organization, api_key_for
):
    _, theirs = api_key_for(other_organization, scopes=["webhooks:manage"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=theirs)
    webhook_id = create(
        client, retryPolicy={"maxRetries": 1}, headers={"Authorization": "Bearer theirs"}
    ).json()["id"]
    assert partner.get(f"/api/v1/webhooks/{webhook_id}").status_code == 404
    answer = partner.patch(
        f"/api/v1/webhooks/{webhook_id}", {"retryPolicy": {"maxRetries": 8}}, format="json"
    )
    assert answer.status_code == 404
    assert Webhook.objects.get(pk=webhook_id).retry_policy == {"maxRetries": 1, "schedule": [5, 15, 45]}


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_deliveries_carry_the_headers_and_follow_the_endpoint_schedule(organization, receiver, clock):
    receiver.respond = lambda request: (500, {}, b"down", 0)
    webhook = services.webhook_create(
        organization_id=organization.id,
        url=receiver.url,
        events=EVENTS,
        retry_policy={"maxRetries": 2, "schedule": [30, 90]},
        headers={"Authorization": "Bearer receiver-token"},
    )
    event = record_event(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    started = clock.now
    tasks.deliver_endpoint(webhook.id)
    offsets = []
    for _ in range(3):
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        clock.advance_to(delivery.next_attempt_at)
        tasks.deliver_endpoint(webhook.id)
        offsets.append((clock.now - started).total_seconds())
    assert len(receiver.requests) == 3  # the first attempt and its 2 retries
    assert 30 <= offsets[0] <= 30.6 and 90 <= offsets[1] - offsets[0] <= 90.6
    assert {r.headers["Authorization"] for r in receiver.requests} == {"Bearer receiver-token"}
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in receiver.requests)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_a_receiver_answering_abort_message_stops_the_retries_of_that_message(organization, receiver, clock):
    receiver.respond = lambda request: (422, {"webhook-delivery": "abort-message"}, b"unknown cart", 0)
    webhook = services.webhook_create(
        organization_id=organization.id, url=receiver.url, events=EVENTS, retry_policy={"maxRetries": 8}
    )
    delivery = WebhookDelivery.objects.get(event=record_event(organization))
    tasks.deliver_endpoint(webhook.id)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.next_attempt_at is None
    assert "abort-message" in delivery.last_error and delivery.attempt_count == 1
    clock.advance(3600)
    tasks.deliver_endpoint(webhook.id)
    assert len(receiver.requests) == 1
    webhook.refresh_from_db()
    # The receiver's own decision about one message is no failure of the endpoint.
    assert webhook.consecutive_failures == 0 and webhook.is_active
