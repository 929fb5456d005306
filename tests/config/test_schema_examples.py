"""Docs that run (issue 14): every operation has request and response examples that its own schemas accept
(seed 001's where it has one), documents its error responses, and declares the headers it answers with."""

import pytest
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from api.examples import SEED

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _example(media: dict):
    if "example" in media:
        return media["example"]
    return next(iter(media["examples"].values()))["value"] if media.get("examples") else None


def _all_examples(media: dict) -> list:
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def _errors(document, schema, value):
    validator = OAS30Validator({"components": document["components"], **schema})
    return [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(value)]


def test_every_request_and_response_body_has_an_example_its_schema_accepts(document):
    problems = []
    for method, path, operation in _operations(document):
        bodies = [
            ("request", media, c) for media, c in operation.get("requestBody", {}).get("content", {}).items()
        ]
        bodies += [
            (status, media, c)
            for status, response in operation["responses"].items()
            for media, c in response.get("content", {}).items()
        ]
        assert any(where != "request" for where, _, _ in bodies) or method == "delete", (method, path)
        for where, media, content in bodies:
            example = _example(content)
            if example is None:
                problems.append(f"{method.upper()} {path} {where} {media}: no example")
            elif media == "application/json":
                problems += [
                    f"{method.upper()} {path} {where}: {e}"
                    for e in _errors(document, content["schema"], example)
                ]
    assert problems == []


def test_every_error_example_is_in_the_seed_error_format_with_its_status(document):
    operations = _operations(document)
    assert operations
    for method, path, operation in operations:
        assert operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                example = _example(response["content"]["application/json"])
                assert example["code"] == int(status), (method, path, status)
                assert {"error", "message", "code", "details"} <= set(example)


def test_the_seeds_examples_are_the_ones_shown(document):
    assert SEED
    for (method, path), seed in SEED.items():
        operation = document["paths"][path][method]
        if "request" in seed:
            assert seed["request"] in _all_examples(operation["requestBody"]["content"]["application/json"])
        if "response" in seed:
            successes = [s for s in operation["responses"] if s.startswith("2")]
            assert successes, (method, path)
            for status in successes:
                shown = _all_examples(operation["responses"][status]["content"]["application/json"])
                assert any(seed["response"].items() <= example.items() for example in shown), (method, path)
    cart = document["paths"]["/api/v1/cart-tryons"]["post"]
    assert "201" not in cart["responses"]  # the create answers 200 (seed 001's PHP client)


def test_every_operation_documents_its_errors_and_partner_ones_the_rate_limit_headers(document):
    operations = _operations(document)
    assert operations
    for method, path, operation in operations:
        responses = operation["responses"]
        assert {"400", "404", "500"} <= set(responses), (method, path)
        partner = {"ApiKeyAuth": []} in (operation.get("security") or [])
        for status, response in responses.items():
            headers = response["headers"]
            assert "X-Request-Id" in headers
            if partner:
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)
            if status == "429":
                assert "Retry-After" in headers
        if partner:
            assert {"401", "403", "429"} <= set(responses), (method, path)


def test_the_declared_rate_limit_headers_are_the_ones_a_partner_gets(organization, partner_client):
    response = partner_client(organization).get("/api/v1/customers")
    assert response.status_code == 200
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id"):
        assert response.has_header(header), header
