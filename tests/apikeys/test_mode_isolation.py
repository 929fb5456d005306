"""Live and test mode never see each other's data, on every partner endpoint.

Table-driven over the URL configuration: every partner route (a view built on PartnerAPIMixin) is called
with the other mode's key and the ids of objects that exist in this mode. A new partner route whose path
parameter is not in OBJECT_IDS fails here until someone says which object it names, so no endpoint joins
the API without this check.
"""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from api.events import event_emit
from apikeys.partner import PartnerAPIMixin
from customers.models import Customer
from infrastructure.storage import storage_save
from organizations.events import CREDITS_ADDED, CREDITS_LOW
from organizations.models import CreditLedgerEntry, Organization
from tests.factories import make_photo_row
from tests.images import person_jpeg
from tests.webhooks.factories import cart_completed_data, make_webhook
from tryons.events import CART_TRYON_COMPLETED
from usage import buffer
from usage.models import RequestLogEntry
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.postgres]

GARMENT = "https://shop.example.com/products/top.jpg"
# (operation resource, path parameter) -> the key of the object it names in a mode's data.
OBJECT_IDS = {
    ("customers", "externalId"): "externalId",
    ("photos", "externalId"): "externalId",
    ("cart-tryons", "pk"): "session",
    ("tryons", "pk"): "tryon",
    ("webhooks", "webhookId"): "webhook",
    ("webhooks", "deliveryId"): "delivery",
    ("customer-imports", "id"): "import",
    ("customer-exports", "id"): "export",
    ("garments", "garmentId"): "garment",
    ("garment-imports", "id"): "garment_import",
    ("garment-exports", "id"): "garment_export",
    # The organization is named by its live id in both modes (its content is checked by mode below).
    ("usage", "organization_id"): "organization",
    ("usage", "request_id"): "request",
}
# Lists: the key under which each lists the ids a mode must never see from the other.
LIST_IDS = {
    "customers": "customer",
    "cart-tryons": "session",
    "tryons": "tryon",
    "webhooks": "webhook",
    "customer-imports": "import",
    "customer-exports": "export",
    "garments": "garment",
    "garment-imports": "garment_import",
    "garment-exports": "garment_export",
}


def _partner_routes():
    def walk(resolver):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern)
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "cls", None)
                if view_class is not None and issubclass(view_class, PartnerAPIMixin):
                    yield pattern, view_class

    routes = []
    for pattern, view_class in walk(get_resolver()):
        params = tuple(pattern.pattern.regex.groupindex)
        for method, action in sorted(pattern.callback.actions.items()):
            routes.append((pattern.name, view_class.operation_resource, params, method, action))
    return routes


ROUTES = _partner_routes()


def _client(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def _populate(client, organization_id, tag):
    """One of everything, created through the API with this mode's key (webhooks through their service)."""
    external_id = f"shopper-{tag}"
    customer = client.post("/api/v1/customers", {"externalId": external_id}, format="json").json()
    photo = client.post(
        f"/api/v1/customers/{external_id}/photos",
        {"photo": SimpleUploadedFile("me.jpg", person_jpeg(), content_type="image/jpeg")},
        format="multipart",
    )
    assert photo.status_code == 200, photo.json()
    photo_key = photo.json()["photoS3Key"]
    item = {"productId": "p1", "name": "Top", "imageUrl": GARMENT, "category": "tops", "quantity": 1}
    session = client.post(
        "/api/v1/cart-tryons",
        {
            "cartId": f"cart-{tag}",
            "customerPhotoS3Key": photo_key,
            "renderQuality": "sd",
            "cartItems": [item],
        },
        format="json",
    )
    assert session.status_code in (200, 201), session.json()
    tryon = client.post(
        "/api/v1/tryons",
        {
            "customerPhotoS3Key": photo_key,
            "renderQuality": "sd",
            **{k: item[k] for k in ("productId", "imageUrl", "category")},
        },
        format="json",
    )
    assert tryon.status_code in (200, 201), tryon.json()
    organization = Organization.objects.get(pk=organization_id)
    webhook = make_webhook(organization, "http://127.0.0.1:9/hook")  # never called: no worker runs here
    with transaction.atomic():
        event = webhook_services.webhook_event_record(
            organization_id=organization_id,
            event=CART_TRYON_COMPLETED.name,
            data=cart_completed_data(organization),
        )
    delivery = WebhookDelivery.objects.get(event=event)
    upload = SimpleUploadedFile("shoppers.csv", f"externalId\n{external_id}-bulk\n".encode(), "text/csv")
    customer_import = client.post("/api/v1/customers/imports", {"file": upload}, format="multipart")
    assert customer_import.status_code == 202, customer_import.json()
    export = client.post("/api/v1/customers/exports", {"format": "csv"}, format="json")
    assert export.status_code == 202, export.json()
    garment = client.post(
        "/api/v1/garments", {"productId": "p1", "imageUrl": GARMENT, "category": "tops"}, format="json"
    )
    assert garment.status_code == 201, garment.json()
    garments_file = SimpleUploadedFile(
        "garments.csv", f"productId,imageUrl,category\np2,{GARMENT},tops\n".encode()
    )
    garment_import = client.post("/api/v1/garments/imports", {"file": garments_file}, format="multipart")
    assert garment_import.status_code == 202, garment_import.json()
    garment_export = client.post("/api/v1/garments/exports", {"format": "jsonl"}, format="json")
    assert garment_export.status_code == 202, garment_export.json()
    return {
        "externalId": external_id,
        "customer": customer["id"],
        "session": session.json()["id"],
        "tryon": tryon.json()["id"],
        "webhook": webhook.id,
        "delivery": delivery.id,
        "import": customer_import.json()["id"],
        "export": export.json()["id"],
        "garment": garment.json()["id"],
        "garment_import": garment_import.json()["id"],
        "garment_export": garment_export.json()["id"],
    }


@pytest.fixture
def modes(organization, api_key_for, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.S3_BUCKET_NAME = ""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    live_key, live_raw = api_key_for(organization, mode="live")
    test_key, test_raw = api_key_for(organization, mode="test")
    live, test = _client(live_raw), _client(test_raw)
    sandbox = Organization.objects.get(sandbox_of=organization)
    data = {
        "live": (live, _populate(live, organization.id, "live")),
        "test": (test, _populate(test, sandbox.id, "test")),
    }
    # The requests above reach the request log through the usage flush, as the beat task would run it.
    buffer.usage_batch_push()
    buffer.usage_flush()
    for mode, acting in (("live", organization.id), ("test", sandbox.id)):
        entry = RequestLogEntry.objects.filter(organization_id=acting).order_by("-created_at").first()
        data[mode][1].update(organization=organization.id, request=entry.request_id, acting=acting)
    return data


def test_every_partner_route_is_in_the_table():
    unknown = {
        (resource, param)
        for _, resource, params, _, _ in ROUTES
        for param in params
        if (resource, param) not in OBJECT_IDS
    }
    assert unknown == set(), "say which object each new path parameter names in OBJECT_IDS"
    assert len(ROUTES) >= 20


@pytest.mark.parametrize("caller,owner_mode", [("test", "live"), ("live", "test")])
def test_an_id_from_the_other_mode_is_a_404_on_every_route(modes, caller, owner_mode):
    client, own = modes[caller]
    _, foreign = modes[owner_mode]
    checked = 0
    for name, resource, params, method, action in ROUTES:
        if not params or set(params) == {"organization_id"}:
            continue
        kwargs = {param: foreign[OBJECT_IDS[(resource, param)]] for param in params}
        path = reverse(name, kwargs=kwargs)
        if (resource, action) == ("photos", "create"):
            photo = SimpleUploadedFile("me.jpg", person_jpeg(), content_type="image/jpeg")
            response = client.post(path, {"photo": photo}, format="multipart")
        else:
            response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["error"] == "ResourceNotFound"
        checked += 1
        # The same route with this mode's own ids is found (so the 404 above is the mode, not the route).
        own_path = reverse(name, kwargs={param: own[OBJECT_IDS[(resource, param)]] for param in params})
        if method == "get":
            assert client.get(own_path).status_code == 200, own_path
    assert checked >= 10


@pytest.mark.parametrize("caller,owner_mode", [("test", "live"), ("live", "test")])
def test_lists_never_show_the_other_modes_objects(modes, caller, owner_mode):
    client, own = modes[caller]
    _, foreign = modes[owner_mode]
    checked = 0
    for name, resource, params, method, _action in ROUTES:
        if params or method != "get" or resource not in LIST_IDS:
            continue
        listed = {row["id"] for row in client.get(reverse(name), {"limit": 100}).json()["data"]}
        assert foreign[LIST_IDS[resource]] not in listed, name
        assert own[LIST_IDS[resource]] in listed, name
        checked += 1
    assert checked >= len(LIST_IDS)


def test_each_mode_pays_from_its_own_balance_and_reads_its_own_ledger(modes, organization):
    sandbox = Organization.objects.get(sandbox_of=organization)
    organization.refresh_from_db()
    # One sd item and one sd single try-on each: 2 credits from the signup grant of 100, in each mode.
    assert (organization.credits, sandbox.credits) == (98, 98)
    for mode, _organization_id in [("live", organization.id), ("test", sandbox.id)]:
        client, own = modes[mode]
        account = client.get("/api/v1/account").json()
        assert account["organizationId"] == organization.id and account["livemode"] is (mode == "live")
        assert account["credits"] == 98
        references = {e["reference"] for e in client.get("/api/v1/account/ledger").json()["data"]}
        assert own["session"] in references and own["tryon"] in references
        other = modes["test" if mode == "live" else "live"][1]
        assert other["session"] not in references and other["tryon"] not in references


def test_webhook_payloads_say_which_mode(modes, organization):
    sandbox = Organization.objects.get(sandbox_of=organization)
    for organization_id, livemode in [(organization.id, True), (sandbox.id, False)]:
        delivery = (
            WebhookDelivery.objects.filter(organization_id=organization_id).select_related("event").get()
        )
        payload = json.loads(delivery.event.body)
        assert payload["livemode"] is livemode
        assert payload["data"]["organizationId"] == organization.id  # one id in both modes


def test_usage_and_request_logs_show_only_the_keys_mode(modes, organization):
    """Both modes name the organization by its live id; each key reads its own mode's traffic only."""
    for mode, other in (("live", "test"), ("test", "live")):
        client, own = modes[mode]
        logged = client.get(f"/api/organizations/{organization.id}/logs/requests", {"limit": 100})
        assert logged.status_code == 200, logged.json()
        request_ids = {row["requestId"] for row in logged.json()["data"]}
        assert own["request"] in request_ids and modes[other][1]["request"] not in request_ids
        stored = RequestLogEntry.objects.filter(organization_id=own["acting"]).count()
        summary = client.get(f"/api/organizations/{organization.id}/usage").json()
        assert summary["totals"]["requests"] == stored


def test_test_mode_answers_name_only_the_live_organization(modes, organization):
    """Issue 27 item 10: a test key read the sandbox's internal id in /usage (`organizationId`) and in every
    photoS3Key (`org-<sandbox id>`) and the signed URLs built from it."""
    sandbox_id = modes["test"][1]["acting"]
    client, own = modes["test"]
    paths = [
        "/api/v1/account",
        "/api/v1/account/ledger",
        "/api/v1/customers",
        f"/api/v1/customers/{own['externalId']}",
        f"/api/v1/customers/{own['externalId']}/photos",
        "/api/v1/cart-tryons",
        f"/api/v1/cart-tryons/{own['session']}",
        "/api/v1/tryons",
        f"/api/v1/tryons/{own['tryon']}",
        "/api/v1/webhooks",
        f"/api/v1/webhooks/{own['webhook']}",
        f"/api/v1/webhooks/{own['webhook']}/deliveries",
        f"/api/v1/customers/imports/{own['import']}",
        f"/api/v1/customers/exports/{own['export']}",
        f"/api/organizations/{organization.id}/usage",
        f"/api/organizations/{organization.id}/logs/requests",
    ]
    leaks = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if sandbox_id in response.content.decode():
            leaks.append(path)
    assert leaks == []
    assert (
        client.get(f"/api/organizations/{organization.id}/usage").json()["organizationId"] == organization.id
    )
    photo = client.get(f"/api/v1/customers/{own['externalId']}/photos").json()["data"][0]
    assert photo["photoS3Key"].startswith(f"enterprise/org-{organization.id}/test/photos/")
    live_photo = modes["live"][0].get(f"/api/v1/customers/{modes['live'][1]['externalId']}/photos").json()
    assert live_photo["data"][0]["photoS3Key"].startswith(f"enterprise/org-{organization.id}/photos/")
    # Events recorded for the sandbox (credits, try-ons) carry the live id too.
    entry = CreditLedgerEntry.objects.filter(organization_id=sandbox_id).first()
    with transaction.atomic():
        event_emit(CREDITS_LOW, organization_id=sandbox_id, entry=entry, threshold=Decimal("20"))
        event_emit(CREDITS_ADDED, organization_id=sandbox_id, entry=entry)
    events = WebhookEvent.objects.filter(organization_id=sandbox_id)
    assert events.filter(event__startswith="credits.").count() == 2
    for event in events:
        assert sandbox_id not in event.body, event.event


def test_a_photo_stored_under_the_sandbox_id_before_keeps_working(modes, organization):
    """Keys stored before item 10 keep naming their photo: rows keep the key they were stored at."""
    client, own = modes["test"]
    sandbox_id = own["acting"]
    customer = Customer.objects.get(organization_id=sandbox_id, external_id=own["externalId"])
    legacy_key = f"enterprise/org-{sandbox_id}/photos/photo_legacy.jpg"
    storage_save(legacy_key, person_jpeg())
    make_photo_row(customer, legacy_key)
    tryon = client.post(
        "/api/v1/tryons",
        {
            "customerPhotoS3Key": legacy_key,
            "renderQuality": "sd",
            "productId": "p1",
            "imageUrl": GARMENT,
            "category": "tops",
        },
        format="json",
    )
    assert tryon.status_code in (200, 201), tryon.json()
    # The live key cannot use it: the photo is the sandbox's, whatever the key's text.
    refused = modes["live"][0].post(
        "/api/v1/tryons",
        {"customerPhotoS3Key": legacy_key, "productId": "p1", "imageUrl": GARMENT, "category": "tops"},
        format="json",
    )
    assert refused.status_code in (400, 404)
