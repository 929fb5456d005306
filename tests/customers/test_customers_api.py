import pytest

from customers.models import Customer
from customers.services import customer_upsert

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def upsert(client, **body):
    return client.post(URL, body, format="json")


def test_upsert_creates_with_201_then_updates_with_200(customer_client, organization):
    created = upsert(
        customer_client,
        externalId="customer_12345",
        email="john@example.com",
        name="John Doe",
        metadata={"segment": "premium", "referralSource": "google"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["id"].startswith("cust_")
    assert body["externalId"] == "customer_12345"
    assert body["photoUrl"] is None
    assert body["metadata"] == {"segment": "premium", "referralSource": "google"}
    assert body["createdAt"].endswith("Z") and body["updatedAt"].endswith("Z")

    updated = upsert(customer_client, externalId="customer_12345", name="John Q. Doe")
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == body["id"]
    assert updated.json()["name"] == "John Q. Doe"
    assert updated.json()["email"] == "john@example.com"  # fields left out keep their values
    assert Customer.objects.filter(organization=organization).count() == 1


def test_metadata_given_on_update_replaces_the_stored_object(customer_client):
    upsert(customer_client, externalId="c1", metadata={"a": 1, "b": 2})
    response = upsert(customer_client, externalId="c1", metadata={"c": 3})
    assert response.json()["metadata"] == {"c": 3}


@pytest.mark.parametrize(
    "external_id", ["jane.doe@example.com", "a-b_c.d", "550e8400-e29b-41d4-a716-446655440000"]
)
def test_external_ids_with_dots_at_signs_and_dashes_route_unencoded(customer_client, external_id):
    assert upsert(customer_client, externalId=external_id).status_code == 201
    response = customer_client.get(f"{URL}/{external_id}")
    assert response.status_code == 200, response.content
    assert response.json()["externalId"] == external_id
    assert customer_client.get(f"{URL}/{external_id}/photos").status_code == 200
    assert customer_client.delete(f"{URL}/{external_id}").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "externalId"),
        ({"externalId": ""}, "externalId"),
        ({"externalId": "a/b"}, "externalId"),
        ({"externalId": "has space"}, "externalId"),
        ({"externalId": "x" * 256}, "externalId"),
        ({"externalId": "c1", "email": "not-an-email"}, "email"),
        ({"externalId": "c1", "name": "n" * 256}, "name"),
        ({"externalId": "c1", "metadata": ["a", "list"]}, "metadata"),
        ({"externalId": "c1", "metadata": "a string"}, "metadata"),
        ({"externalId": "c1", "metadata": {"blob": "x" * 9000}}, "metadata"),
    ],
)
def test_invalid_customers_are_rejected_per_field(customer_client, body, field):
    response = customer_client.post(URL, body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "ValidationError"
    assert field in payload["details"]
    assert not Customer.objects.exists()


def test_get_and_list_show_the_organizations_customers(customer_client, organization):
    for n in range(3):
        upsert(customer_client, externalId=f"c{n}")
    response = customer_client.get(URL, {"limit": 2, "offset": 0})
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3 and page["limit"] == 2 and page["hasMore"] is True
    assert [c["externalId"] for c in page["data"]] == ["c2", "c1"]
    rest = customer_client.get(URL, {"limit": 2, "offset": 2}).json()
    assert [c["externalId"] for c in rest["data"]] == ["c0"] and rest["hasMore"] is False


def test_delete_removes_the_customer(customer_client):
    upsert(customer_client, externalId="gone")
    assert customer_client.delete(f"{URL}/gone").status_code == 204
    response = customer_client.get(f"{URL}/gone")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"
    assert customer_client.delete(f"{URL}/gone").status_code == 404


def test_the_same_external_id_in_two_organizations_is_two_customers(
    organization, other_organization, partner_client
):
    mine = upsert(partner_client(organization), externalId="shared-id", name="Mine")
    theirs = upsert(partner_client(other_organization), externalId="shared-id", name="Theirs")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/customers/theirs"),
        ("delete", "/api/v1/customers/theirs"),
        ("get", "/api/v1/customers/theirs/photos"),
        ("post", "/api/v1/customers/theirs/photos"),
    ],
)
def test_another_organizations_customer_is_a_404_on_every_endpoint(
    organization, other_organization, partner_client, method, path
):
    customer_upsert(organization_id=other_organization.id, external_id="theirs", name="Theirs")
    client = partner_client(organization)
    kwargs = {"format": "multipart", "data": {"metadata": "{}"}} if method == "post" else {}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 404, response.content
    assert response.json()["error"] == "ResourceNotFound"
    assert Customer.objects.filter(organization=other_organization, external_id="theirs").exists()


def test_another_organizations_customers_are_not_listed(organization, other_organization, partner_client):
    customer_upsert(organization_id=other_organization.id, external_id="theirs")
    assert partner_client(organization).get(URL).json()["total"] == 0


@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        (["customers:read"], "post", URL, "customers:create"),
        (["customers:read"], "delete", f"{URL}/c1", "customers:create"),
        (["customers:create"], "get", URL, "customers:read"),
        (["customers:create"], "get", f"{URL}/c1", "customers:read"),
        (["photos:read"], "post", f"{URL}/c1/photos", "photos:upload"),
        (["photos:upload"], "get", f"{URL}/c1/photos", "photos:read"),
    ],
)
def test_each_endpoint_needs_its_scope(organization, partner_client, scopes, method, path, needed):
    customer_upsert(organization_id=organization.id, external_id="c1")
    client = partner_client(organization, scopes=scopes)
    data = {"externalId": "c1"} if method == "post" and path == URL else None
    response = getattr(client, method)(path, data, format="json" if path == URL else "multipart")
    assert response.status_code == 403
    assert response.json()["error"] == "InvalidScope"
    assert response.json()["details"]["requiredScope"] == needed


def test_requests_without_a_key_are_refused(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"


def test_upsert_replays_with_the_same_idempotency_key(customer_client):
    first = customer_client.post(URL, {"externalId": "idem"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = customer_client.post(URL, {"externalId": "idem"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
