"""Every partner endpoint that exists enforces the scope DESIGN.md assigns to it.

Endpoints are discovered from the URL resolver (every view authenticating with ApiKeyAuthentication), so
a viewset added later is covered without touching this file.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apikeys.authentication import ApiKeyAuthentication
from apikeys.scopes import ALL, SCOPES

MISSING_ID = "missing_0000"
_PARAM = re.compile(r"<[^>]+>|\(\?P<\w+>[^)]*\)")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def partner_endpoints(urlconf=None):
    """(url, method, action, declared scope) for every API-key operation in the URLconf."""
    found = []
    for route, callback in _walk(get_resolver(urlconf).url_patterns):
        view_class = getattr(callback, "cls", None)
        if view_class is None or not any(
            issubclass(auth, ApiKeyAuthentication)
            for auth in getattr(view_class, "authentication_classes", ())
        ):
            continue
        url = "/" + _PARAM.sub(MISSING_ID, route).replace("^", "").replace("$", "")
        actions = getattr(callback, "actions", None) or {
            method: method
            for method in ("get", "post", "put", "patch", "delete")
            if hasattr(view_class, method)
        }
        for method, action in actions.items():
            found.append((url, method, action, view_class.required_scopes.get(action)))
    return found


def expected_scope(url: str, method: str) -> str | None:
    """DESIGN.md "Authentication": the scope each family of partner endpoints needs."""
    read = method == "get"
    if url.startswith("/api/v1/webhooks"):
        return "webhooks:manage"
    # Bulk jobs take the scope of what they do to customers, whatever the HTTP method: an import writes
    # them (its status and row errors echo what was written), an export reads them all.
    if url.startswith("/api/v1/customers/imports"):
        return "customers:create"
    if url.startswith("/api/v1/customers/exports"):
        return "customers:read"
    if re.match(r"^/api/v1/customers/[^/]+/photos", url):
        return "photos:read" if read else "photos:upload"
    if url.startswith("/api/v1/customers"):
        return "customers:read" if read else "customers:create"
    if url.startswith(("/api/v1/cart-tryons", "/api/v1/tryons")):
        return "tryon:read" if read else "tryon:create"
    if re.match(r"^/api/organizations/[^/]+/(usage|logs/requests)", url):
        return "usage:read"
    return None


ENDPOINTS = partner_endpoints()


def test_partner_endpoints_are_discovered():
    assert ENDPOINTS, "no view authenticating with X-API-Key was found in the URLconf"
    # Partner endpoints, plus the organization's usage and request log, which members read with a JWT and
    # keys with `usage:read` (issue 14).
    assert all(url.startswith(("/api/v1/", "/api/organizations/")) for url, *_ in ENDPOINTS)
    assert all(expected_scope(url, "get") == "usage:read" for url, *_ in ENDPOINTS if "/api/v1/" not in url)


def test_discovery_finds_a_partner_view_added_to_the_urlconf():
    urls = {(url, method) for url, method, *_ in partner_endpoints("tests.apikeys.urls")}
    assert (f"/api/v1/test-things/{MISSING_ID}", "get") in urls


@pytest.fixture
def keys(organization, api_key_for):
    """Keys by scope set, made once per test: `only:<scope>` and `without:<scope>`."""
    made = {}

    def key(kind, scope):
        if (kind, scope) not in made:
            scopes = [scope] if kind == "only" else [s for s in SCOPES if s not in (scope, ALL)]
            made[kind, scope] = api_key_for(organization, scopes=scopes, rate_limit=10_000)[1]
        return made[kind, scope]

    return key


def _call(client, method, url, raw_key):
    return getattr(client, method)(url, {}, format="json", HTTP_X_API_KEY=raw_key, REMOTE_ADDR="10.3.3.3")


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "method", "action", "declared"), ENDPOINTS, ids=lambda v: str(v))
def test_each_partner_operation_enforces_its_scope(url, method, action, declared, keys):
    from rest_framework.test import APIClient

    assert declared in SCOPES and declared != ALL, f"{method.upper()} {url} ({action}) declares no scope"
    expected = expected_scope(url, method)
    if expected is not None:
        assert declared == expected, (
            f"{method.upper()} {url} needs {expected} (DESIGN.md), declares {declared}"
        )

    client = APIClient()
    refused = _call(client, method, url, keys("without", declared))
    assert refused.status_code == 403, refused.content
    body = refused.json()
    assert body["error"] == "InvalidScope"
    assert body["details"]["requiredScope"] == declared
    assert declared in body["message"]

    allowed = _call(client, method, url, keys("only", declared))
    assert allowed.status_code not in (401, 403), allowed.content
    assert allowed.json().get("error") != "InvalidScope" if allowed.content else True

    everything = _call(client, method, url, keys("only", ALL))
    assert everything.status_code not in (401, 403), everything.content
