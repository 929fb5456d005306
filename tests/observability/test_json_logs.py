"""LOG_FORMAT=json: one JSON object per line, one line per request with its ids, route, status and
duration; and in either format nothing secret or personal — keys, webhook secrets, tokens, passwords,
customers' emails, names or the ids partners chose for them."""

import json
import logging

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from config.logging_settings import logging_settings
from infrastructure.logging import configure
from infrastructure.observability.access_log import access_lines_flush
from tests.concurrency import wait_until

SHOPPER_EMAIL = "jane.shopper@example.com"
SHOPPER_NAME = "Jane Q. Shopper"
SHOPPER_EXTERNAL_ID = "shopper-8675309"


@pytest.fixture
def log_output(capsys, settings):
    """Configure logging as LOG_FORMAT says, writing into capsys; the project's logging is restored after."""

    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the journey's webhook URL is on loopback

    def start(json_lines: bool):
        access_lines_flush()
        capsys.readouterr()
        configure(logging_settings(level="INFO", json_lines=json_lines))

        def read():
            access_lines_flush()  # the access lines' writer thread would write them within a second
            return capsys.readouterr().err

        return read

    yield start
    access_lines_flush()
    configure(django_settings.LOGGING)


def partner_journey(organization, api_key_for, jwt_client, owner):
    """Customer upsert with personal data, reads, a webhook (its secret), a refused key, a failed sign-in."""
    key, raw_key = api_key_for(organization)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    created = client.post(
        "/api/v1/customers",
        {"externalId": SHOPPER_EXTERNAL_ID, "email": SHOPPER_EMAIL, "name": SHOPPER_NAME},
        format="json",
    )
    assert created.status_code == 201
    assert client.get(f"/api/v1/customers/{SHOPPER_EXTERNAL_ID}").status_code == 200
    assert client.get("/api/v1/customers/no-such-shopper").status_code == 404
    webhook = client.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hooks", "events": ["cart_tryon.completed"]},
        format="json",
    )
    assert webhook.status_code == 201
    wrong = APIClient()
    wrong.credentials(HTTP_X_API_KEY=raw_key[:-4] + "zzzz")
    assert wrong.get("/api/v1/customers").status_code == 401
    failed = APIClient().post(
        "/api/auth/token", {"username": "owner", "password": "not-the-pw-123"}, format="json"
    )
    assert failed.status_code == 401
    token = jwt_client(owner)
    assert token.get(f"/api/organizations/{organization.id}").status_code == 200
    return key, raw_key, webhook.json()["secret"], token._credentials["HTTP_AUTHORIZATION"]


def forbidden_strings(raw_key, webhook_secret, bearer):
    return [
        raw_key,
        raw_key[len("gx_live_") + 8 :],  # the secret part alone
        webhook_secret,
        webhook_secret.removeprefix("whsec_"),
        bearer.removeprefix("Bearer "),
        "not-the-pw-123",
        SHOPPER_EMAIL,
        SHOPPER_NAME,
        SHOPPER_EXTERNAL_ID,
        "no-such-shopper",
    ]


@pytest.mark.django_db
def test_json_lines_carry_request_org_and_key_ids_route_status_and_duration(
    log_output, organization, api_key_for, jwt_client, owner
):
    read = log_output(json_lines=True)
    key, raw_key, secret, bearer = partner_journey(organization, api_key_for, jwt_client, owner)
    lines = [line for line in read().splitlines() if line.strip()]

    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "garmax.access"]
    assert len(access) == 7
    read_line = next(
        r for r in access if r["route"] == "/api/v1/customers/{externalId}" and r["status"] == 200
    )
    assert read_line["method"] == "GET" and read_line["auth"] == "api_key"
    assert read_line["organization_id"] == organization.id and read_line["key_id"] == key.id
    assert read_line["request_id"].startswith("req_")
    assert isinstance(read_line["duration_ms"], float) and read_line["duration_ms"] > 0
    assert {"time", "level", "message"} <= set(read_line)
    refused = next(r for r in access if r["status"] == 401 and r["route"] == "/api/v1/customers")
    assert refused["organization_id"] is None and refused["key_id"] is None and refused["auth"] == "refused"
    # The refusal's own warning line is tied to the same request.
    explained = next(r for r in records if r["logger"] == "garmax.apikeys")
    assert explained["request_id"] == refused["request_id"]

    output = "\n".join(lines)
    for forbidden in forbidden_strings(raw_key, secret, bearer):
        assert forbidden not in output


@pytest.mark.django_db
def test_the_text_format_stays_quiet_per_request_and_leaks_nothing_either(
    log_output, organization, api_key_for, jwt_client, owner
):
    read = log_output(json_lines=False)
    _, raw_key, secret, bearer = partner_journey(organization, api_key_for, jwt_client, owner)
    output = read()
    assert "garmax.access" not in output  # the load balancer logs requests; a terminal needs no line each
    assert "API key refused" in output
    for forbidden in forbidden_strings(raw_key, secret, bearer):
        assert forbidden not in output


@pytest.mark.django_db
def test_an_error_inside_a_request_is_one_json_line_with_its_ids_and_no_secret(
    log_output, settings, organization
):
    settings.ROOT_URLCONF = "tests.config.error_urls"
    read = log_output(json_lines=True)
    response = APIClient(raise_request_exception=False).get("/api/test/explode")
    assert response.status_code == 500
    records = [json.loads(line) for line in read().splitlines() if line.strip()]
    error = next(r for r in records if r["level"] == "ERROR")
    assert error["request_id"] == response["X-Request-Id"]
    logged = json.dumps(records)
    # The traceback quotes the raising source line (code, not data); the exception's value is redacted.
    assert "RuntimeError: database password=[redacted]" in logged
    assert "RuntimeError: database password=hunter2" not in logged
    for record in records:  # outside the traceback's source lines, no field holds the exception's text
        assert "hunter2" not in json.dumps({k: v for k, v in record.items() if k != "exc_info"})
    assert any(r["logger"] == "garmax.access" and r["status"] == 500 for r in records)


def test_log_format_must_be_text_or_json(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    from config import observability_settings

    monkeypatch.setenv("LOG_FORMAT", "xml")
    try:
        with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
            importlib.reload(observability_settings)
    finally:
        monkeypatch.delenv("LOG_FORMAT")
        importlib.reload(observability_settings)


def test_the_logging_dict_switches_formatter_and_access_lines_together():
    as_json = logging_settings(level="INFO", json_lines=True)
    as_text = logging_settings(level="INFO", json_lines=False)
    assert as_json["handlers"]["console"]["formatter"] == "json"
    assert as_text["handlers"]["console"]["formatter"] == "plain"
    assert as_json["loggers"]["garmax.access"]["level"] == "INFO"
    assert logging.getLevelName(as_text["loggers"]["garmax.access"]["level"]) > logging.INFO


@pytest.mark.django_db
def test_access_lines_are_written_by_their_thread_within_a_second(
    capsys, settings, organization, api_key_for
):
    configure(logging_settings(level="INFO", json_lines=True))
    try:
        _, raw_key = api_key_for(organization)
        capsys.readouterr()
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        assert client.get("/api/v1/customers").status_code == 200
        seen = []

        def written():
            seen.extend(line for line in capsys.readouterr().err.splitlines() if "garmax.access" in line)
            return seen

        wait_until(written, timeout=3, interval=0.1)  # FLUSH_SECONDS is 1: no explicit flush here
        (line,) = [json.loads(line) for line in seen]
        assert line["route"] == "/api/v1/customers" and line["status"] == 200
        assert line["organization_id"] == organization.id
    finally:
        access_lines_flush()
        configure(settings.LOGGING)
