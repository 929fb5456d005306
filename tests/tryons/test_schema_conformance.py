"""Responses of freshly created cart and single try-ons (nothing started, nothing finished: many nulls)
match the OpenAPI document partners generate clients from."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator

from tests.tryons.test_cart_tryons_api import IMAGE, body

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def assert_conforms(openapi, component: str, instance: dict):
    # The document itself is the root the component references resolve against.
    validator = OAS30Validator(
        {"components": openapi["components"], "$ref": f"#/components/schemas/{component}"}
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, errors


def test_a_queued_cart_session_matches_its_schema(openapi, organization, partner_client, photo_of):
    client = partner_client(organization)
    created = client.post("/api/v1/cart-tryons", body(photo_of(organization)), format="json")
    assert created.status_code == 200, created.json()
    assert created.json()["startedAt"] is None
    assert_conforms(openapi, "CartTryOnSession", created.json())
    fetched = client.get(f"/api/v1/cart-tryons/{created.json()['id']}")
    assert_conforms(openapi, "CartTryOnSession", fetched.json())


def test_a_queued_single_try_on_matches_its_schema(openapi, organization, partner_client, photo_of):
    client = partner_client(organization)
    photo = photo_of(organization)
    created = client.post(
        "/api/v1/tryons",
        {
            "customerPhotoS3Key": photo.storage_key,
            "productId": "prod_001",
            "imageUrl": IMAGE,
            "category": "tops",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["completedAt"] is None
    assert_conforms(openapi, "TryOn", created.json())
