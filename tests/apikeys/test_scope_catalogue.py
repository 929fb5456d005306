"""GET /api/docs/scopes (issue 14): every scope and the operations it grants, read from the permission
declarations RequiresScope enforces, never from a second, hand-kept list."""

import pytest
from rest_framework.test import APIClient

from apikeys import catalogue
from apikeys.scopes import ALL, SCOPES
from tryons.views import CartTryOnViewSet

pytestmark = pytest.mark.django_db


def _catalogue():
    response = APIClient().get("/api/docs/scopes")
    assert response.status_code == 200
    return {entry["scope"]: entry for entry in response.json()["scopes"]}


def _operations(entry):
    return {(op["method"], op["path"]) for op in entry["operations"]}


def test_every_scope_is_listed_with_the_operations_the_seed_gives_it():
    scopes = _catalogue()
    assert list(scopes) == list(SCOPES)
    assert ("POST", "/api/v1/cart-tryons") in _operations(scopes["tryon:create"])
    assert ("POST", "/api/v1/cart-tryons/{sessionId}/cancel") in _operations(scopes["tryon:create"])
    assert ("GET", "/api/v1/cart-tryons/{sessionId}") in _operations(scopes["tryon:read"])
    assert {("POST", "/api/v1/customers"), ("DELETE", "/api/v1/customers/{externalId}")} <= _operations(
        scopes["customers:create"]
    )
    assert _operations(scopes["photos:upload"]) == {("POST", "/api/v1/customers/{externalId}/photos")}
    assert not _operations(scopes["customers:read"]) & _operations(scopes["customers:create"])
    assert all(path.startswith("/api/v1/webhooks") for _, path in _operations(scopes["webhooks:manage"]))


def test_every_api_key_operation_of_the_openapi_document_is_granted_by_exactly_one_scope_and_by_all():
    scopes = _catalogue()
    document = APIClient().get("/api/schema", {"format": "json"}).json()
    partner_operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if {"ApiKeyAuth": []} in operation.get("security", [])
    }
    granted = [op for scope, entry in scopes.items() if scope != ALL for op in _operations(entry)]
    assert sorted(granted) == sorted(partner_operations)  # each once
    assert _operations(scopes[ALL]) == partner_operations
    for entry in scopes.values():
        assert entry["operations"], entry
        for operation in entry["operations"]:
            documented = document["paths"][operation["path"]][operation["method"].lower()]
            assert operation["operationId"] == documented["operationId"]


def test_the_catalogue_follows_the_views_declarations(monkeypatch):
    # Derived, not listed: change what a view requires and the catalogue says so.
    declared = {**CartTryOnViewSet.required_scopes, "cancel": "tryon:read"}
    monkeypatch.setattr(CartTryOnViewSet, "required_scopes", declared)
    catalogue.scope_catalogue.cache_clear()
    try:
        scopes = _catalogue()
    finally:
        monkeypatch.undo()
        catalogue.scope_catalogue.cache_clear()
    assert ("POST", "/api/v1/cart-tryons/{sessionId}/cancel") in _operations(scopes["tryon:read"])
    assert ("POST", "/api/v1/cart-tryons/{sessionId}/cancel") not in _operations(scopes["tryon:create"])


def test_what_the_catalogue_says_a_scope_grants_is_what_a_key_with_it_may_call(organization, partner_client):
    # Each operation the catalogue lists under tryon:read is refused to a key holding only tryon:create.
    scopes = _catalogue()
    creator = partner_client(organization, scopes=("tryon:create",))
    reader = partner_client(organization, scopes=("tryon:read",))
    operations = scopes["tryon:read"]["operations"]
    assert operations
    for operation in operations:
        path = operation["path"].replace("{id}", "cts_missing")
        call = getattr(creator, operation["method"].lower())
        refused = call(path)
        assert (refused.status_code, refused.json()["error"]) == (403, "InvalidScope"), operation
        assert refused.json()["details"]["requiredScope"] == "tryon:read"
        assert getattr(reader, operation["method"].lower())(path).status_code in (200, 404), operation
