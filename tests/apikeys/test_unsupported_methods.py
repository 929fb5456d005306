"""A method a partner route does not support is a 405 MethodNotAllowed for every caller, before scopes."""

from collections import defaultdict

import pytest
from rest_framework.test import APIClient

from tests.apikeys.test_scope_matrix import partner_endpoints

METHODS = ("get", "post", "put", "patch", "delete")


def _unsupported():
    supported = defaultdict(set)
    for url, method, _action, _scope in partner_endpoints():
        supported[url].add(method)
    return [
        (url, method)
        for url, methods in sorted(supported.items())
        for method in METHODS
        if method not in methods
    ]


UNSUPPORTED = _unsupported()


def test_there_are_unsupported_methods_to_check():
    assert ("/api/v1/cart-tryons", "delete") in UNSUPPORTED


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "method"), UNSUPPORTED, ids=lambda v: str(v))
def test_an_unsupported_method_is_405_whatever_the_key_or_its_scopes(url, method, organization, api_key_for):
    narrow = api_key_for(organization, scopes=["customers:read"], rate_limit=10_000)[1]
    full = api_key_for(organization, scopes=["all"], rate_limit=10_000)[1]
    callers = {"narrow key": {"HTTP_X_API_KEY": narrow}, "all key": {"HTTP_X_API_KEY": full}, "no key": {}}
    for caller, headers in callers.items():
        response = getattr(APIClient(), method)(url, {}, format="json", REMOTE_ADDR="10.4.4.4", **headers)
        assert response.status_code == 405, (caller, response.content)
        body = response.json()
        assert body["error"] == "MethodNotAllowed", (caller, body)
        assert body["code"] == 405
        assert set(body) >= {"error", "message", "code", "details"}
        assert method.upper() in body["message"]


def test_delete_on_cart_tryons_with_a_read_only_key_is_405_not_invalid_scope(organization, partner_client):
    response = partner_client(organization, scopes=["tryon:read"]).delete("/api/v1/cart-tryons")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"
    assert "GET" in response["Allow"]
