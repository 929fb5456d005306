"""Every date parameter accepts only what the database can hold, and every timestamp has a four-digit year
(issue 27 item 4: `?to=9999-12-31` was an OverflowError, `?to=0001-01-01T00:00:00+23:59` a PostgreSQL
DataError, `"start": "1-01-01T00:00:00Z"` no ISO 8601).

The fuzz is driven by the OpenAPI document: every query parameter documented as a date or date-time (and
every parameter whose name says it is one, which must then be documented so) of every operation gets the
extremes below, alone, with the caller the operation takes. A new date parameter is covered by being in the
document.
"""

import json
import re
from datetime import UTC, datetime

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from api.date_parameters import EARLIEST, LATEST, date_parameter
from api.errors import ValidationError
from api.timestamps import timestamp_text
from tests.webhooks.factories import make_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

EXTREMES = [
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59+23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-30T00:00:00Z",
    "9999-01-01T00:00:00-00:01",
    "9999-12-29",
    "9999-12-30T00:00:00Z",
    "9999-12-30T00:00:00-00:01",
    "0001-01-02",
    "0001-01-02T00:00:00+00:01",
    "0330-04-12T03:39:46Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00+00:01",
    "1970-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00.1234567Z",
    "2026-W01-1",
    "20260101",
    "２０２６-01-01",
    "-2026-01-01",
    "+12026-01-01",
    "2026-01-01T00:00:00Z ",
    "yesterday",
    "null",
    " ",
    "9" * 400,
    "2026-12-01",
    "2026-12-01T08:30:00+05:30",
]
# The names a date or time parameter goes by; the list cursors (startingAfter, endingBefore) are ids.
DATE_LIKE_NAME = re.compile(r"^(from|to|since|until|date|day|before|after)$|(At|Date|Since|Until|Time)$")
ISO_TIMESTAMP = re.compile(r'"(\d+)-\d\d-\d\dT\d\d:\d\d')
PATH_VALUES = {"organizationId": "organization"}


def _schema() -> dict:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def _date_operations(schema: dict):
    """(method, path, date parameter names, takes an API key) of every operation with one."""
    found, undeclared = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            names = []
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                declared = parameter.get("schema", {}).get("format") in ("date", "date-time")
                if declared:
                    names.append(parameter["name"])
                elif DATE_LIKE_NAME.search(parameter["name"]):
                    undeclared.append(f"{method.upper()} {path} ?{parameter['name']}")
            if names:
                takes_key = {"ApiKeyAuth": []} in (operation.get("security") or [])
                found.append((method, path, names, takes_key))
    return found, undeclared


def test_every_date_parameter_in_the_document_is_declared_with_its_format():
    found, undeclared = _date_operations(_schema())
    # Say it with api.date_parameters.date_openapi_parameter, which reads it with date_parameter.
    assert undeclared == []
    covered = {(path, tuple(names)) for _, path, names, _ in found}
    assert ("/api/v1/account/ledger", ("from", "to")) in covered
    assert ("/api/organizations/{organizationId}/usage", ("from", "to")) in covered
    assert ("/api/organizations/{organizationId}/logs/requests", ("from", "to")) in covered


def test_every_date_parameter_of_every_endpoint_answers_extremes_with_200_or_a_400_naming_it(
    organization, owner, api_key_for, settings
):
    settings.API_USER_RATE_LIMIT = 100_000
    _, raw_key = api_key_for(organization, rate_limit=10_000)
    by_key, by_jwt = APIClient(), APIClient()
    by_key.credentials(HTTP_X_API_KEY=raw_key)
    by_jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    values = {"organization": organization.id}
    found, _ = _date_operations(_schema())
    assert found

    wrong = []
    for method, path, names, takes_key in found:
        url = re.sub(r"{(\w+)}", lambda match: values[PATH_VALUES[match.group(1)]], path)
        client = by_key if takes_key else by_jwt
        for name in names:
            for value in EXTREMES:
                response = getattr(client, method)(url, {name: value})
                body = response.json()
                if response.status_code == 200:
                    years = ISO_TIMESTAMP.findall(response.content.decode())
                    if any(len(year) != 4 for year in years):
                        wrong.append((path, name, value, "timestamp without a 4-digit year"))
                elif not (
                    response.status_code == 400
                    and body.get("error") == "ValidationError"
                    and set(body.get("details", {})) & set(names)
                ):
                    wrong.append((path, name, value, response.status_code, body.get("error")))
    assert wrong == []


# A body that each operation with a date-time in its request body takes apart from that date (by the
# operation's method and path in the document); a new one fails the test below until it is here.
BODY_BASES = {
    ("post", "/api/organizations/{organizationId}/api-keys"): {"name": "fuzz", "scopes": ["all"]},
    ("patch", "/api/organizations/{organizationId}/api-keys/{keyId}"): {},
    ("post", "/api/v1/customers/exports"): {"format": "csv"},
    ("post", "/api/v1/garments/exports"): {"format": "csv"},
    ("post", "/api/v1/webhooks/{webhookId}/recover"): {},
}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def _body_dates(schema: dict, node: dict, trail=(), depth=0):
    """Trails (`filters`, `createdAfter`) of the writable date-time properties of a request body."""
    node = _resolve(schema, node)
    for part in node.get("allOf", []):
        yield from _body_dates(schema, part, trail, depth)
    for name, prop in node.get("properties", {}).items():
        prop = _resolve(schema, prop)
        if prop.get("readOnly"):
            continue
        if prop.get("format") in ("date", "date-time"):
            yield (*trail, name)
        elif depth < 3:
            yield from _body_dates(schema, prop, (*trail, name), depth + 1)


def test_every_date_in_a_request_body_answers_extremes_with_success_or_a_400_naming_it(
    organization, owner, api_key_for, settings
):
    settings.API_USER_RATE_LIMIT = 100_000
    key, raw_key = api_key_for(organization, rate_limit=10_000)
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    webhook = make_webhook(organization, "http://127.0.0.1:9/hook")  # never called: no worker runs here
    by_key, by_jwt = APIClient(), APIClient()
    by_key.credentials(HTTP_X_API_KEY=raw_key)
    by_jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    values = {"organizationId": organization.id, "keyId": key.id, "webhookId": webhook.id}
    schema = _schema()

    found, wrong = [], []
    assert schema["paths"]
    for path, operations in schema["paths"].items():
        assert operations, path
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            trails = list(_body_dates(schema, content["schema"])) if content else []
            if not trails:
                continue
            found.append((method, path))
            assert (method, path) in BODY_BASES, f"say in BODY_BASES what {method.upper()} {path} takes"
            url = re.sub(r"{(\w+)}", lambda match: values[match.group(1)], path)
            client = by_key if {"ApiKeyAuth": []} in (operation.get("security") or []) else by_jwt
            for trail in trails:
                for value in EXTREMES:
                    body = json.loads(json.dumps(BODY_BASES[(method, path)]))
                    node = body
                    for name in trail[:-1]:
                        node = node.setdefault(name, {})
                    node[trail[-1]] = value
                    response = getattr(client, method)(url, body, format="json")
                    answer = response.json()
                    if response.status_code >= 300 and not (
                        response.status_code == 400
                        and answer.get("error") == "ValidationError"
                        and trail[0] in answer.get("details", {})
                    ):
                        wrong.append((method, path, trail, value, response.status_code, answer.get("error")))
    assert sorted(found) == sorted(BODY_BASES)
    assert wrong == []


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31",
        "0001-01-01",
        "0001-01-01T23:59:59Z",
        "9999-12-30T00:00:01Z",
        "2026-01-15T10:30:00+24:00",
        "2026-W03-4",
        "2026-01-15T10:30:00\n",
        "١٩٧٠-01-01",
    ],
)
def test_a_date_the_database_cannot_hold_or_no_date_at_all_is_a_validation_error_naming_the_field(raw):
    with pytest.raises(ValidationError) as refused:
        date_parameter(raw, field="until")
    assert list(refused.value.details) == ["until"]


def test_dates_are_read_in_utc_with_a_date_alone_covering_its_day():
    assert date_parameter("2026-01-15", field="from") == datetime(2026, 1, 15, tzinfo=UTC)
    assert date_parameter("2026-01-15", field="to", day_end=True) == datetime(2026, 1, 16, tzinfo=UTC)
    assert date_parameter("2026-01-15T10:30:00+02:00", field="from") == datetime(
        2026, 1, 15, 8, 30, tzinfo=UTC
    )
    assert date_parameter("2026-01-15T10:30", field="from") == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert date_parameter("0001-01-02T00:00:00Z", field="from") == EARLIEST
    assert date_parameter("9999-12-29", field="to", day_end=True) == LATEST
    assert date_parameter("0330-04-12T03:39:46Z", field="from") == datetime(330, 4, 12, 3, 39, 46, tzinfo=UTC)
    assert date_parameter("", field="to") is None and date_parameter(None, field="to") is None


def test_every_timestamp_is_written_with_a_four_digit_year():
    year_one = datetime(1, 1, 1, tzinfo=UTC)
    # DRF's DateTimeField (every serializer) reads REST_FRAMEWORK["DATETIME_FORMAT"]; "%Y" wrote "1-01-01".
    assert serializers.DateTimeField().to_representation(year_one) == "0001-01-01T00:00:00Z"
    assert serializers.DateTimeField().to_representation(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == (
        "0999-12-31T23:59:59Z"
    )
    assert timestamp_text(year_one) == "0001-01-01T00:00:00Z"
    assert timestamp_text(datetime(2026, 1, 15, 10, 30, 0, 999, tzinfo=UTC)) == "2026-01-15T10:30:00Z"
