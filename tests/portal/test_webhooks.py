"""The portal's webhooks pages: the endpoints of the organization being viewed (its sandbox's in test mode),
their secret shown once, the delivery log with bodies, and every change through the API's services."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from organizations.models import Organization
from organizations.roles import Role
from tests.http_servers import WebhookReceiver
from webhooks import services
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

HOOKS = "/portal/webhooks/"
TARGET = "http://127.0.0.1:9/hooks"  # never called unless a test sends; loopback needs private_targets
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")
MANAGERS = ("owner", "admin", "developer")
READERS = ("billing", "viewer")


@pytest.fixture(autouse=True)
def private_targets(settings):
    """Endpoints on loopback (our receiver), which production refuses: allowed for these tests only."""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver():
    started = WebhookReceiver()
    yield started
    started.stop()


@pytest.fixture
def signed_in(organization, owner, member_of, portal_client):
    def sign_in(role: str):
        user = owner if role == Role.OWNER else member_of(organization, role=role)
        return portal_client(user)

    return sign_in


def _webhook(organization, url=TARGET, events=("cart_tryon.completed",), **kwargs) -> Webhook:
    return services.webhook_create(organization_id=organization.pk, url=url, events=list(events), **kwargs)


def _failed_delivery(webhook, *, event="cart_tryon.completed", body='{"id":"evt_x"}', response="down"):
    """A delivery that failed its one attempt, as the delivery task leaves one."""
    recorded = WebhookEvent.objects.create(
        organization_id=webhook.organization_id, event=event, body=body, created_at=timezone.now()
    )
    delivery = WebhookDelivery.objects.create(
        organization_id=webhook.organization_id,
        webhook=webhook,
        event=recorded,
        status=WebhookDelivery.Status.FAILED,
        attempt_count=1,
        last_status_code=500,
        last_error="HTTP 500",
    )
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, status_code=500, response_body=response, error="HTTP 500"
    )
    return delivery


def _secrets(response) -> list[str]:
    return SECRET.findall(response.content.decode())


@pytest.mark.parametrize("role", MANAGERS + READERS)
def test_the_webhooks_pages_render_for_every_role_with_controls_only_for_webhook_managers(
    role, signed_in, organization
):
    webhook = _webhook(organization, description="Shop listener")
    delivery = _failed_delivery(webhook)
    client = signed_in(role)
    pages = [
        client.get(HOOKS),
        client.get(f"{HOOKS}{webhook.pk}/"),
        client.get(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200]
    html = "".join(page.content.decode() for page in pages)
    assert "Shop listener" in html and delivery.pk in html
    controls = (
        'id="webhook-create"',
        "/edit",
        "/test",
        "/rotate-secret",
        "/delete",
        "/recover",
        "/redeliver",
    )
    shown = [control for control in controls if control in html]
    assert shown == (list(controls) if role in MANAGERS else [])
    assert webhook.secret not in html


def test_a_developer_adds_an_endpoint_and_sees_its_secret_once(signed_in, organization):
    client = signed_in("developer")
    response = client.post(
        f"{HOOKS}new",
        {"url": TARGET, "events": ["cart_tryon.completed", "tryon.failed"], "description": "Prod"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    webhook = Webhook.objects.get(organization=organization)
    assert (webhook.url, webhook.events, webhook.description) == (
        TARGET,
        ["cart_tryon.completed", "tryon.failed"],
        "Prod",
    )
    assert _secrets(response) == [webhook.secret]
    assert 'data-copy="webhook-secret"' in response.content.decode()
    assert _secrets(client.get(f"{HOOKS}{webhook.pk}/")) == [] and _secrets(client.get(HOOKS)) == []
    assert webhook.secret not in str(dict(client.session.items()))


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_signing(signed_in, organization):
    webhook = _webhook(organization)
    old = webhook.secret
    client = signed_in("developer")
    response = client.post(f"{HOOKS}{webhook.pk}/rotate-secret")
    webhook.refresh_from_db()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert _secrets(response) == [webhook.secret] and webhook.secret != old
    assert webhook.previous_secret == old
    assert "keeps signing" in response.content.decode()
    assert _secrets(client.get(f"{HOOKS}{webhook.pk}/")) == []


def test_editing_events_and_re_enabling_go_through_the_api_services(signed_in, organization):
    webhook = _webhook(organization)
    services.webhook_update(webhook=webhook, is_active=False)
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=10, disabled_reason="10 failures in a row."
    )
    client = signed_in("developer")
    page = client.get(f"{HOOKS}{webhook.pk}/").content.decode()
    assert "disabled" in page and "10 failures in a row." in page and "Re-enable" in page

    client.post(
        f"{HOOKS}{webhook.pk}/edit",
        {"url": TARGET, "events": ["tryon.completed", "tryon.failed"], "description": "Changed"},
    )
    client.post(f"{HOOKS}{webhook.pk}/enable")
    webhook.refresh_from_db()
    assert webhook.events == ["tryon.completed", "tryon.failed"] and webhook.description == "Changed"
    assert (webhook.is_active, webhook.consecutive_failures, webhook.disabled_reason) == (True, 0, "")


def test_sending_a_test_event_reports_the_answer(signed_in, organization, receiver):
    webhook = _webhook(organization, url=receiver.url)
    client = signed_in("developer")
    delivered = client.post(f"{HOOKS}{webhook.pk}/test", follow=True)
    assert "Delivered: HTTP 200" in delivered.content.decode()
    (request,) = receiver.requests
    assert b'"webhook.test"' in request.body

    receiver.respond = lambda request: (500, {}, b"<b>down</b>", 0)
    failed = client.post(f"{HOOKS}{webhook.pk}/test", follow=True).content.decode()
    assert "Not delivered: HTTP 500" in failed
    delivery = WebhookDelivery.objects.filter(webhook=webhook, status="failed").get()
    detail = client.get(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/").content.decode()
    assert "<pre>&lt;b&gt;down&lt;/b&gt;</pre>" in detail
    assert "webhook.test" in detail


def test_the_delivery_log_pages_and_filters_as_the_api(signed_in, organization):
    webhook = _webhook(organization)
    older = [_failed_delivery(webhook) for _ in range(3)]
    test_event = _failed_delivery(webhook, event="webhook.test")
    WebhookDelivery.objects.filter(pk=test_event.pk).update(status="succeeded")
    client = signed_in("viewer")
    everything = client.get(f"{HOOKS}{webhook.pk}/").content.decode()
    assert all(delivery.pk in everything for delivery in [*older, test_event])
    only_failed = client.get(f"{HOOKS}{webhook.pk}/", {"status": "failed"}).content.decode()
    assert test_event.pk not in only_failed and older[0].pk in only_failed
    only_test = client.get(f"{HOOKS}{webhook.pk}/", {"event": "webhook.test"}).content.decode()
    assert test_event.pk in only_test and older[0].pk not in only_test
    for query in (
        {"status": "bogus"},
        {"event": "order.created"},
        {"status": "x" * 300},
        {"event": "\u202e"},
    ):
        refused = client.get(f"{HOOKS}{webhook.pk}/", query)
        assert refused.status_code == 400 and 'id="filter-problem"' in refused.content.decode()
        assert older[0].pk not in refused.content.decode()


def test_deep_pages_follow_the_cursor(signed_in, organization, monkeypatch):
    monkeypatch.setattr("portal.pages.webhooks.DELIVERIES_PAGE", 2)
    webhook = _webhook(organization)
    made = [_failed_delivery(webhook) for _ in range(3)]  # newest last
    client = signed_in("viewer")
    first = client.get(f"{HOOKS}{webhook.pk}/", {"status": "failed"}).content.decode()
    assert made[2].pk in first and made[1].pk in first and made[0].pk not in first
    older = re.search(r'href="\?(status=failed&amp;after=[^"]+)">Older', first)
    second = client.get(f"{HOOKS}{webhook.pk}/?" + older.group(1).replace("&amp;", "&")).content.decode()
    assert made[0].pk in second and made[2].pk not in second
    for cursor in ("x" * 200, "%01", "dlv_" + "z" * 96):
        assert client.get(f"{HOOKS}{webhook.pk}/?after={cursor}").status_code == 200


def test_bodies_are_escaped_and_huge_ones_cut_for_display(signed_in, organization):
    webhook = _webhook(organization)
    huge = '{"x":"' + "<script>alert(1)</script>" * 2000 + '"}'
    delivery = _failed_delivery(webhook, body=huge, response="<script>evil()</script>")
    page = signed_in("viewer").get(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/").content.decode()
    assert "<script>" not in page
    assert "&lt;script&gt;evil()&lt;/script&gt;" in page
    assert f"{len(huge)} characters in all" in page
    assert len(page) < len(huge)


def test_redeliver_queues_the_same_event_again(signed_in, organization):
    webhook = _webhook(organization)
    delivery = _failed_delivery(webhook)
    client = signed_in("developer")
    response = client.post(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/redeliver")
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/deliveries/{again.pk}/")
    assert (again.event_id, again.status) == (delivery.event_id, "pending")
    # A disabled endpoint refuses it, as the API does (409), and nothing is queued.
    services.webhook_update(webhook=webhook, is_active=False)
    refused = client.post(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/redeliver", follow=True)
    assert "re-enable it" in refused.content.decode()
    assert WebhookDelivery.objects.count() == 2


def test_recover_resends_failed_events_since_a_time(signed_in, organization):
    webhook = _webhook(organization)
    before = _failed_delivery(webhook)
    WebhookDelivery.objects.filter(pk=before.pk).update(created_at=timezone.now() - timedelta(days=2))
    recent = [_failed_delivery(webhook) for _ in range(2)]
    client = signed_in("developer")
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(f"{HOOKS}{webhook.pk}/recover", {"since": since}, follow=True)
    assert "2 failed event(s) queued for redelivery." in done.content.decode()
    queued = WebhookDelivery.objects.filter(status="pending")
    assert sorted(queued.values_list("event_id", flat=True)) == sorted(d.event_id for d in recent)


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00", "9999-12-31T23:59", "yesterday", "", "2026-02-30T10:00", "1" * 300, "\x07"]
)
def test_recover_refuses_what_the_api_refuses_and_queues_nothing(since, signed_in, organization):
    webhook = _webhook(organization)
    _failed_delivery(webhook)
    response = signed_in("developer").post(f"{HOOKS}{webhook.pk}/recover", {"since": since}, follow=True)
    assert response.status_code == 200 and "Not saved. since:" in response.content.decode()
    assert not WebhookDelivery.objects.filter(status="pending").exists()


def test_delete_asks_first_then_deletes_the_endpoint(signed_in, organization):
    webhook = _webhook(organization)
    client = signed_in("developer")
    confirm = client.get(f"{HOOKS}{webhook.pk}/delete")
    assert confirm.status_code == 200 and "Delete endpoint" in confirm.content.decode()
    assert Webhook.objects.filter(pk=webhook.pk).exists()
    assert client.post(f"{HOOKS}{webhook.pk}/delete")["Location"] == HOOKS
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_test_mode_lists_and_creates_only_the_sandboxs_endpoints(signed_in, organization):
    live = _webhook(organization, description="Live endpoint")
    live_delivery = _failed_delivery(live)
    client = signed_in("developer")
    client.post("/portal/mode", {"mode": "test"})
    sandbox = Organization.objects.get(sandbox_of=organization)
    assert "Live endpoint" not in client.get(HOOKS).content.decode()
    assert client.get(f"{HOOKS}{live.pk}/").status_code == 404
    assert client.get(f"{HOOKS}{live.pk}/deliveries/{live_delivery.pk}/").status_code == 404
    assert client.post(f"{HOOKS}{live.pk}/delete").status_code == 404

    client.post(
        f"{HOOKS}new", {"url": TARGET, "events": ["tryon.completed"], "description": "Sandbox endpoint"}
    )
    made = Webhook.objects.get(description="Sandbox endpoint")
    assert made.organization_id == sandbox.pk
    assert "Sandbox endpoint" in client.get(HOOKS).content.decode()
    client.post("/portal/mode", {"mode": "live"})
    live_list = client.get(HOOKS).content.decode()
    assert "Live endpoint" in live_list and "Sandbox endpoint" not in live_list


@pytest.mark.parametrize("role", READERS)
def test_billing_and_viewers_get_403_on_forged_posts_and_nothing_changes(role, signed_in, organization):
    webhook = _webhook(organization)
    services.webhook_update(webhook=webhook, is_active=False)
    delivery = _failed_delivery(webhook)
    secret = webhook.secret
    client = signed_in(role)
    forged = [
        client.post(f"{HOOKS}new", {"url": TARGET, "events": ["tryon.completed"]}),
        client.post(f"{HOOKS}{webhook.pk}/edit", {"url": TARGET, "events": ["tryon.failed"]}),
        client.post(f"{HOOKS}{webhook.pk}/test"),
        client.post(f"{HOOKS}{webhook.pk}/rotate-secret"),
        client.post(f"{HOOKS}{webhook.pk}/enable"),
        client.post(f"{HOOKS}{webhook.pk}/delete"),
        client.get(f"{HOOKS}{webhook.pk}/delete"),
        client.post(f"{HOOKS}{webhook.pk}/recover", {"since": "2020-01-01T00:00"}),
        client.post(f"{HOOKS}{webhook.pk}/deliveries/{delivery.pk}/redeliver"),
    ]
    assert [response.status_code for response in forged] == [403] * 9
    webhook.refresh_from_db()
    assert (webhook.events, webhook.secret, webhook.is_active) == (["cart_tryon.completed"], secret, False)
    assert Webhook.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_another_organizations_endpoint_and_delivery_are_404s_everywhere(
    signed_in, organization, other_organization
):
    foreign = _webhook(other_organization)
    foreign_delivery = _failed_delivery(foreign)
    mine = _webhook(organization)
    client = signed_in("owner")
    paths = [
        ("get", f"{HOOKS}{foreign.pk}/"),
        ("post", f"{HOOKS}{foreign.pk}/edit"),
        ("post", f"{HOOKS}{foreign.pk}/test"),
        ("post", f"{HOOKS}{foreign.pk}/rotate-secret"),
        ("post", f"{HOOKS}{foreign.pk}/enable"),
        ("get", f"{HOOKS}{foreign.pk}/delete"),
        ("post", f"{HOOKS}{foreign.pk}/delete"),
        ("post", f"{HOOKS}{foreign.pk}/recover"),
        ("get", f"{HOOKS}{foreign.pk}/deliveries/{foreign_delivery.pk}/"),
        ("post", f"{HOOKS}{foreign.pk}/deliveries/{foreign_delivery.pk}/redeliver"),
        # Their delivery under my endpoint is no more found than under theirs.
        ("get", f"{HOOKS}{mine.pk}/deliveries/{foreign_delivery.pk}/"),
        ("post", f"{HOOKS}{mine.pk}/deliveries/{foreign_delivery.pk}/redeliver"),
        ("get", f"{HOOKS}{'w' * 100}/"),
        ("get", f"{HOOKS}{mine.pk}/deliveries/{'d' * 100}/"),
        ("get", f"{HOOKS}webhook_%01/"),
    ]
    statuses = [getattr(client, method)(path).status_code for method, path in paths]
    assert statuses == [404] * len(paths)
    foreign.refresh_from_db()
    assert foreign.is_active and WebhookDelivery.objects.filter(webhook=foreign).count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "ftp://example.com/hooks"},
        {"url": "https://user:password@example.com/hooks"},
        {"url": "not a url"},
        {"url": "https://example.com/" + "a" * 3000},
        {"events": []},
        {"events": ["order.created"]},
        {"events": ["webhook.test"]},
        {"description": "line\nbreak"},
        {"description": "d" * 600},
    ],
)
def test_bad_endpoints_are_refused_with_a_message_and_nothing_is_saved(fields, signed_in, organization):
    client = signed_in("developer")
    data = {"url": TARGET, "events": ["tryon.completed"], "description": "", **fields}
    response = client.post(f"{HOOKS}new", data, follow=True)
    assert response.status_code == 200 and '<li class="error">' in response.content.decode()
    assert not Webhook.objects.exists()
    webhook = _webhook(organization)
    client.post(f"{HOOKS}{webhook.pk}/edit", data)
    webhook.refresh_from_db()
    assert (webhook.url, webhook.events, webhook.description) == (TARGET, ["cart_tryon.completed"], "")
