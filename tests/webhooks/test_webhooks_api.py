import json
import time

import pytest
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.http_servers import SlowServer, timed
from tests.webhooks.factories import cart_completed_delivered_once, make_webhook
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services, signing
from webhooks.events import WEBHOOK_TEST
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhooks"


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization, scopes=("webhooks:manage",))


def _fail_once(organization, receiver):
    """One failed delivery (retries 0) of a fresh event; returns the delivery."""
    from organizations.models import Organization

    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": 0})
    return cart_completed_delivered_once(organization)


@pytest.mark.usefixtures("private_targets")
def test_create_returns_the_secret_once(client, receiver):
    response = client.post(
        BASE,
        {"url": receiver.url, "events": ["cart_tryon.completed", "cart_tryon.failed"], "description": "Prod"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("webhook_") and body["secret"].startswith("whsec_")
    assert body["isActive"] is True and body["events"] == ["cart_tryon.completed", "cart_tryon.failed"]
    assert "createdAt" in body
    shown = client.get(f"{BASE}/{body['id']}").json()
    assert "secret" not in shown
    listed = client.get(BASE).json()
    assert listed["total"] == 1 and "secret" not in listed["data"][0]


@pytest.mark.usefixtures("private_targets")
def test_unknown_events_are_refused(client, receiver):
    response = client.post(BASE, {"url": receiver.url, "events": ["order.created"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError" and "events" in response.json()["details"]


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com/hook",  # plain http
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::127.0.0.1]/hook",  # IPv4-compatible IPv6 form of loopback
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fec0::1]/hook",  # site-local
        "https://[64:ff9b::a00:8]/hook",  # NAT64 form of 10.0.0.8
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "https://user:pass@example.com/hook",
        "ftp://example.com/hook",
    ],
)
def test_ssrf_targets_are_refused(client, url, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    response = client.post(BASE, {"url": url, "events": ["tryon.completed"]}, format="json")
    assert response.status_code == 400, url
    assert "url" in response.json()["details"]


def test_ssrf_target_is_refused_on_update_and_at_send_time(client, organization, settings, receiver):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    webhook = make_webhook(organization, receiver.url)
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    response = client.patch(f"{BASE}/{webhook.id}", {"url": "https://192.168.1.1/x"}, format="json")
    assert response.status_code == 400
    # The stored URL now points at loopback (as if DNS changed): the send is refused, not made.
    attempt = services.webhook_test_send(webhook=webhook)
    assert not attempt.succeeded and attempt.status_code is None
    assert receiver.requests == []


def test_another_organizations_webhook_is_a_404_everywhere(client, other_organization, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    foreign = make_webhook(other_organization, "http://127.0.0.1:9/hook")
    delivery_path = f"{BASE}/{foreign.id}/deliveries"
    for method, path in [
        ("get", f"{BASE}/{foreign.id}"),
        ("patch", f"{BASE}/{foreign.id}"),
        ("delete", f"{BASE}/{foreign.id}"),
        ("post", f"{BASE}/{foreign.id}/test"),
        ("get", delivery_path),
        ("post", f"{delivery_path}/dlv_x/redeliver"),
        ("post", f"{BASE}/{foreign.id}/recover"),
        ("post", f"{BASE}/{foreign.id}/rotate-secret"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "ResourceNotFound"
    assert client.get(BASE).json()["total"] == 0
    assert Webhook.objects.filter(pk=foreign.pk, is_active=True).exists()


def test_a_key_without_webhooks_manage_is_refused(organization, partner_client):
    client = partner_client(organization, scopes=("tryon:read",))
    response = client.get(BASE)
    assert response.status_code == 403 and response.json()["error"] == "InvalidScope"


@pytest.mark.usefixtures("private_targets")
def test_patch_is_active_true_re_enables_and_resets_failures(client, organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    Webhook.objects.filter(pk=webhook.pk).update(
        is_active=False, consecutive_failures=10, disabled_reason="10 consecutive deliveries failed."
    )
    response = client.patch(
        f"{BASE}/{webhook.id}", {"isActive": True, "events": ["tryon.completed"]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["isActive"] is True and body["consecutiveFailures"] == 0 and body["disabledReason"] == ""
    assert body["events"] == ["tryon.completed"]


@pytest.mark.usefixtures("private_targets")
def test_delete_removes_the_webhook(client, organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    assert client.delete(f"{BASE}/{webhook.id}").status_code == 204
    assert client.get(f"{BASE}/{webhook.id}").status_code == 404


@pytest.mark.usefixtures("private_targets")
def test_test_endpoint_sends_a_signed_event_and_reports_the_result(client, organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    response = client.post(f"{BASE}/{webhook.id}/test")
    assert response.status_code == 200
    body = response.json()
    assert body["delivered"] is True and body["statusCode"] == 200 and body["durationMs"] >= 0
    (request,) = receiver.requests
    assert json.loads(request.body)["event"] == WEBHOOK_TEST.name
    assert StandardWebhook(webhook.secret).verify(request.body, request.headers)["id"] == body["eventId"]

    receiver.respond = lambda request: (500, {}, b"down", 0)
    failed = client.post(f"{BASE}/{webhook.id}/test").json()
    assert failed["delivered"] is False and failed["statusCode"] == 500 and failed["error"] == "HTTP 500"
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0  # a test never counts against the endpoint


@pytest.mark.usefixtures("private_targets")
def test_test_endpoint_returns_within_its_default_deadline_from_a_receiver_dripping_headers(
    client, organization
):
    slow = SlowServer("headers", trickle_bytes=20)  # a 20 s answer: beyond the test send's 10 s default
    try:
        webhook = make_webhook(organization, slow.url("/hooks"))
        elapsed, response = timed(lambda: client.post(f"{BASE}/{webhook.id}/test"))
    finally:
        slow.close()

    assert elapsed < settings.WEBHOOK_TEST_TIMEOUT_SECONDS + 2
    assert response.status_code == 200
    body = response.json()
    assert (body["delivered"], body["statusCode"]) == (False, None)
    assert body["error"] == f"Request took longer than {settings.WEBHOOK_TEST_TIMEOUT_SECONDS} s."
    delivery = WebhookDelivery.objects.get(pk=body["deliveryId"])
    assert (delivery.status, delivery.attempt_count) == ("failed", 1)


@pytest.mark.usefixtures("private_targets")
def test_test_endpoint_keeps_to_a_short_webhook_timeout_when_the_body_drips(client, organization, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    slow = SlowServer("body", trickle_bytes=12)
    try:
        webhook = make_webhook(organization, slow.url("/hooks"))
        elapsed, response = timed(lambda: client.post(f"{BASE}/{webhook.id}/test"))
    finally:
        slow.close()

    assert elapsed < 2 + 1.5
    assert response.json()["error"] == "Request took longer than 2 s."


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_deliveries_log_lists_attempts_and_filters(client, organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    receiver.respond = lambda request: (500, {}, b"nope", 0)
    _fail_once(organization, receiver)
    client.post(f"{BASE}/{webhook.id}/test")
    log = client.get(f"{BASE}/{webhook.id}/deliveries").json()
    assert log["total"] == 2
    completed = {"event": CART_TRYON_COMPLETED.name}
    failed = client.get(f"{BASE}/{webhook.id}/deliveries", completed).json()["data"]
    assert len(failed) == 1 and failed[0]["status"] == "failed"
    assert (
        failed[0]["attempts"][0]["statusCode"] == 500 and failed[0]["attempts"][0]["responseBody"] == "nope"
    )
    assert client.get(f"{BASE}/{webhook.id}/deliveries", {"status": "succeeded"}).json()["total"] == 0
    assert client.get(f"{BASE}/{webhook.id}/deliveries", {"status": "bogus"}).status_code == 400


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_redeliver_sends_the_same_event_again(
    client, organization, receiver, django_capture_on_commit_callbacks
):
    webhook = make_webhook(organization, receiver.url)
    receiver.respond = lambda request: (500, {}, b"", 0)
    delivery = _fail_once(organization, receiver)
    receiver.respond = None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/{webhook.id}/deliveries/{delivery.id}/redeliver")
    assert response.status_code == 202
    again = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert again.event_id == delivery.event_id and again.status == WebhookDelivery.Status.SUCCEEDED
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event_id
    assert first.body == second.body


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_recover_resends_each_failed_event_since_a_time_once(
    client, organization, receiver, django_capture_on_commit_callbacks
):
    webhook = make_webhook(organization, receiver.url)
    receiver.respond = lambda request: (500, {}, b"", 0)
    before = _fail_once(organization, receiver)
    since = timezone.now()
    time.sleep(0.01)
    failed = [_fail_once(organization, receiver) for _ in range(2)]
    WebhookDelivery.objects.filter(pk=before.pk).update(created_at=since - timezone.timedelta(hours=1))
    receiver.respond = None
    receiver.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/{webhook.id}/recover", {"since": since.isoformat()}, format="json")
    assert response.status_code == 202 and response.json()["recovered"] == 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {d.event_id for d in failed}
    # Recovered events are settled: a second recover finds nothing to do.
    again = client.post(f"{BASE}/{webhook.id}/recover", {"since": since.isoformat()}, format="json")
    assert again.json()["recovered"] == 0


@pytest.mark.usefixtures("private_targets")
def test_rotation_dual_signs_for_24_hours(client, organization, receiver, clock):
    webhook = make_webhook(organization, receiver.url)
    old_secret = webhook.secret
    response = client.post(f"{BASE}/{webhook.id}/rotate-secret")
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert new_secret != old_secret and response.json()["previousSecretExpiresAt"]
    client.post(f"{BASE}/{webhook.id}/test")
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    # Signatures use the (frozen) clock's timestamp; verify against it rather than wall time.
    body, headers = request.body, request.headers
    for secret in (new_secret, old_secret):
        expected = signing.signature_standard(
            secrets_in_use=[secret],
            message_id=headers["webhook-id"],
            timestamp=int(headers["webhook-timestamp"]),
            body=body,
        )
        assert expected in headers["webhook-signature"].split(" ")
    assert headers["X-Webhook-Signature"] == signing.signature_hex(secret=new_secret, body=body)
    assert headers["X-Webhook-Signature-Previous"] == signing.signature_hex(secret=old_secret, body=body)
    assert StandardWebhook(old_secret).verify(body, headers)

    clock.advance(24 * 3600 + 1)
    client.post(f"{BASE}/{webhook.id}/test")
    later = receiver.requests[-1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert "X-Webhook-Signature-Previous" not in later.headers
