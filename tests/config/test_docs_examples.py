"""The examples pages show the files in docs/examples/, and each file runs against a live server: curl and
Python always, JavaScript when node is installed. The Postman collection is generated from the OpenAPI
document and valid against the vendored Postman collection v2.1.0 schema (no network)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from django.core.cache import cache

from api.postman import postman_collection
from api.schema import openapi_document
from apikeys import services
from tests.factories import make_organization

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
SCHEMA = ROOT / "api" / "vendor" / "postman-collection-v2.1.0.schema.json"
RUNNERS = {
    "curl": ["bash", str(EXAMPLES / "curl.sh")],
    "python": [sys.executable, str(EXAMPLES / "python.py")],
    "javascript": ["node", str(EXAMPLES / "javascript.mjs")],
}


@pytest.mark.parametrize("language", ["curl", "python", "javascript"])
def test_each_examples_page_shows_its_file(client, language):
    page = client.get(f"/api/docs/examples/{language}")
    assert page.status_code == 200
    source = Path(RUNNERS[language][1]).read_text()
    assert "shopper-42" in source and "/v1/status/rate-limits" in source
    from django.utils.html import escape

    assert escape(source) in page.content.decode()


def test_an_unknown_language_is_a_404_in_the_error_format(client):
    answer = client.get("/api/docs/examples/cobol")
    assert answer.status_code == 404 and answer.json()["error"] == "ResourceNotFound"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("language", ["curl", "python", "javascript"])
def test_each_example_runs_against_a_live_server(live_server, transactional_db, language):
    if shutil.which(RUNNERS[language][0]) is None:
        pytest.skip(f"{RUNNERS[language][0]} is not installed")
    cache.clear()
    organization = make_organization(name="Examples Fashion")
    _, raw_key = services.apikey_create(
        organization=organization, name="examples", scopes=["all"], mode="test"
    )
    env = {**os.environ, "GARMAX_API_URL": f"{live_server.url}/api", "GARMAX_API_KEY": raw_key}
    done = subprocess.run(RUNNERS[language], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shopper-42" in done.stdout
    assert '"window":"minute"' in done.stdout.replace(" ", "") or "window minute:" in done.stdout
    assert raw_key not in done.stdout


def test_the_postman_collection_is_valid_v2_1_and_covers_every_operation():
    collection = postman_collection("https://api.example.com/api")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(collection)
    requests = [request for folder in collection["item"] for request in folder["item"]]
    documented = [
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(requests) == len(documented)
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "https://api.example.com/api" and "apiKey" in variables
    by_name = {(r["request"]["method"], r["request"]["url"]["raw"]): r["request"] for r in requests}
    customer = by_name["GET", "{{baseUrl}}/v1/customers/:externalId"]
    assert {"key": "X-API-Key", "value": "{{apiKey}}", "type": "text"} in customer["header"]
    assert customer["url"]["variable"][0]["key"] == "externalId"
    status = by_name["GET", "{{baseUrl}}/v1/status"]
    assert status["auth"] == {"type": "noauth"} and status["header"] == []
    keys = by_name["POST", "{{baseUrl}}/organizations/:organizationId/api-keys"]
    assert keys["auth"]["type"] == "bearer" and json.loads(keys["body"]["raw"])


def test_the_postman_page_serves_the_collection_for_this_server(client):
    answer = client.get("/api/docs/postman")
    assert answer.status_code == 200
    collection = answer.json()
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert {v["key"]: v["value"] for v in collection["variable"]}["baseUrl"] == "http://testserver/api"


@pytest.mark.parametrize("path", ["/api/v1/docs/events", "/api/v1/docs/scopes"])
def test_seed_003s_catalogue_paths_answer_as_ours(client, path):
    ours = client.get(path.replace("/v1", ""))
    theirs = client.get(path)
    assert theirs.status_code == 200 and theirs.json() == ours.json()
