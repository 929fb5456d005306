"""The served OpenAPI document is valid OpenAPI 3: CI runs this with the rest of the suite."""

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_document():
    response = APIClient().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_served_openapi_document_passes_openapi_spec_validator(served_document):
    validate(served_document)  # raises with the first violation


def test_a_blank_allowed_currency_documents_no_default_its_pattern_refuses(served_document):
    currency = served_document["components"]["schemas"]["CartItemRequest"]["properties"]["currency"]
    patterned = [alternative for alternative in currency["oneOf"] if "pattern" in alternative]
    assert patterned
    assert all(alternative.get("default") != "" for alternative in patterned)
