"""ETag and If-None-Match on the single-resource reads whose state is their row: customers, webhooks,
garments (cart sessions and try-ons: tests/tryons/test_polls.py)."""

import pytest

from api.ids import new_id
from customers.models import Customer
from tests.webhooks.factories import make_webhook
from tryons.catalogue.models import Garment
from webhooks.models import Webhook


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def resources(organization):
    customer = Customer.objects.create(organization=organization, external_id="shopper-1", name="Ann")
    webhook = make_webhook(organization, "http://127.0.0.1:9/hook")  # never called
    garment = Garment.objects.create(
        id=new_id("garment"),
        organization=organization,
        product_id="p1",
        image_url="https://shop.example/p1.jpg",
        category="tops",
    )
    return [
        ("/api/v1/customers/shopper-1", lambda: Customer.objects.filter(pk=customer.pk).update(name="Bo")),
        (
            f"/api/v1/webhooks/{webhook.id}",
            lambda: Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=2),
        ),
        (f"/api/v1/garments/{garment.id}", lambda: Garment.objects.filter(pk=garment.pk).update(name="Tee")),
    ]


@pytest.mark.django_db
def test_each_read_answers_an_etag_and_304_until_it_changes(organization, client):
    for path, change in resources(organization):
        first = client.get(path)
        assert first.status_code == 200 and first["ETag"].startswith('W/"'), path
        same = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
        assert same.status_code == 304 and same.content == b"", path
        assert client.get(path, HTTP_IF_NONE_MATCH="*").status_code == 304, path
        change()
        changed = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
        assert changed.status_code == 200 and changed["ETag"] != first["ETag"], path


@pytest.mark.django_db
def test_another_organizations_etag_stays_a_404(organization, other_organization, client, partner_client):
    stranger = partner_client(other_organization)
    for path, _ in resources(organization):
        etag = client.get(path)["ETag"]
        assert stranger.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 404, path
        assert stranger.get(path, HTTP_IF_NONE_MATCH="*").status_code == 404, path


@pytest.mark.django_db
def test_the_version_is_part_of_the_etag(organization, client):
    path = resources(organization)[0][0]
    newest = client.get(path, HTTP_GARMAX_VERSION="2026-11-01")["ETag"]
    older = client.get(path, HTTP_GARMAX_VERSION="2026-01-15")["ETag"]
    assert newest != older
    assert client.get(path, HTTP_IF_NONE_MATCH=newest, HTTP_GARMAX_VERSION="2026-01-15").status_code == 200
