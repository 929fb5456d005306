"""The OpenAPI document is fit for SDK generation (issue 34), and the committed copy is the code's.

Pinned here: every operationId is `<resource>_<action>` and unique; no enum component is named with a hash
suffix; each resource's path parameter is spelled one way across the document; the internal render
callback is not in it; no create shows a 404 of a missing object; cart create shows InsufficientCredits.
"""

import re
from collections import defaultdict

import pytest
from django.core.management import call_command

from api.management.commands.api_contract import contract_drift
from api.schema import openapi_document
from api.schema_names import OPERATION_ID

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_id_is_resource_underscore_action_and_unique(document):
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []
    assert {"cartTryons_create", "cartTryons_cancel", "cartTryons_retrieve", "customers_upsert"} <= set(ids)
    assert not [i for i in ids if i.startswith("v1") or "_v1_" in i]


def test_the_operation_ids_read_as_the_sdk_resources(document):
    named = {(method, path): operation["operationId"] for path, method, operation in _operations(document)}
    assert named[("post", "/api/v1/cart-tryons/{sessionId}/cancel")] == "cartTryons_cancel"
    assert named[("post", "/api/v1/customers/{externalId}/photos")] == "customerPhotos_create"
    assert named[("get", "/api/v1/webhooks/{webhookId}/deliveries")] == "webhookDeliveries_list"
    assert named[("delete", "/api/v1/customers/{externalId}")] == "customers_delete"
    assert named[("patch", "/api/organizations/{organizationId}")] == "organizations_update"


def test_no_enum_component_is_named_with_a_hash_suffix(document):
    names = [name for name in document["components"]["schemas"] if name.endswith("Enum")]
    assert [name for name in names if re.search(r"[0-9a-f]{3}Enum$", name)] == []
    assert {"ApiKeyModeEnum", "ApiKeyStatusEnum", "BulkJobStatusEnum"} <= set(names)


def test_each_path_parameter_is_spelled_one_way_for_its_resource(document):
    spellings = defaultdict(set)
    assert document["paths"]
    for path in document["paths"]:
        segments = path.split("/")
        for index, segment in enumerate(segments):
            if segment.startswith("{"):
                spellings[segments[index - 1]].add(segment[1:-1])
        item = document["paths"][path]
        declared = [
            {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            for method in METHODS & set(item)
        ]
        assert declared, path
        assert all(names == set(re.findall(r"\{(\w+)\}", path)) for names in declared), path
    # An invitation is also reached by the secret token its email carries, which is no spelling of its id.
    ids = {
        collection: {name for name in names if name.endswith("Id")} for collection, names in spellings.items()
    }
    assert {collection: names for collection, names in ids.items() if len(names) > 1} == {}
    names = {name for names in spellings.values() for name in names}
    assert not [name for name in names if "_" in name or name in ("id", "pk")]
    assert spellings["cart-tryons"] == {"sessionId"}
    assert spellings["organizations"] == {"organizationId"}


def test_the_internal_render_callback_is_not_in_the_partner_document(document):
    assert not [path for path in document["paths"] if "internal" in path or "callback" in path]


def test_no_create_shows_the_404_of_a_missing_object_it_does_not_name(document):
    shown = []
    for path, method, operation in _operations(document):
        if method != "post" or path.endswith("}"):
            continue
        content = operation["responses"].get("404", {}).get("content", {}).get("application/json", {})
        named = set(re.findall(r"\{(\w+)\}", path))
        shown += [(path, named, e["value"]) for e in content.get("examples", {}).values()]
        shown += [(path, named, content["example"])] if "example" in content else []
    assert len(shown) > 20
    # A 404 on a create names nothing, or an object of its own path (the customer of its photos).
    wrong = [
        (path, example)
        for path, named, example in shown
        if not set(example["details"]) <= named
        or ("session" in example["message"].lower() and "sessionId" not in named)
    ]
    assert wrong == []


def test_cart_create_shows_insufficient_credits_as_its_403(document):
    forbidden = document["paths"]["/api/v1/cart-tryons"]["post"]["responses"]["403"]
    examples = forbidden["content"]["application/json"]["examples"]
    assert next(iter(examples)) == "InsufficientCredits"
    assert examples["InsufficientCredits"]["value"]["error"] == "InsufficientCredits"


def test_the_token_endpoints_document_their_401(document):
    for path in ("/api/auth/token", "/api/auth/token/refresh"):
        assert "401" in document["paths"][path]["post"]["responses"], path


def test_the_committed_contract_is_what_the_code_generates():
    # On failure: `.venv/bin/python manage.py api_contract --write`; commit sdks/openapi.json, CHANGELOG.md.
    assert contract_drift() == []
    call_command("api_contract", "--check")
