"""Optional Sentry: off without SENTRY_DSN; with it, errors arrive tagged with the request id and carry no
key, token, cookie, request body or customer data. Sentry's servers are outside this machine's reach, so the
events are captured by a Transport (sentry-sdk's own extension point) instead of being sent."""

import json

import pytest
import sentry_sdk
from rest_framework.test import APIClient
from sentry_sdk.transport import Transport

from infrastructure.observability.sentry import sentry_configure

DSN = "https://public0123456789abcdef@o1.ingest.sentry.example/1"


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def sentry_events():
    transport = CapturingTransport()
    sentry_configure(dsn=DSN, environment="test", traces_sample_rate=0.0, transport=transport)
    yield transport.events
    sentry_sdk.init()  # no DSN: the client drops everything from here on


def test_sentry_is_off_without_a_dsn(settings):
    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().is_active() or sentry_sdk.get_client().dsn is None


@pytest.mark.django_db
@pytest.mark.urls("tests.config.error_urls")
def test_an_error_reaches_sentry_with_its_request_id_and_nothing_personal_or_secret(
    sentry_events, organization, api_key_for
):
    _, raw_key = api_key_for(organization)
    client = APIClient(raise_request_exception=False)
    response = client.get(
        "/api/test/explode?email=jane.shopper@example.com",
        HTTP_X_API_KEY=raw_key,
        HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.secret-token-body.signature",
        HTTP_COOKIE="sessionid=session-cookie-value",
    )
    assert response.status_code == 500
    sentry_sdk.flush()

    assert sentry_events, "the error never reached Sentry"
    event = sentry_events[-1]
    assert event["tags"]["request_id"] == response["X-Request-Id"]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = json.dumps(_without_source_lines(sentry_events))
    for secret in (
        raw_key,
        raw_key[16:],
        "secret-token-body",
        "session-cookie-value",
        "jane.shopper@example.com",
        "hunter2",
    ):
        assert secret not in sent
    assert "user" not in event


@pytest.mark.django_db
def test_a_failing_partner_request_is_tagged_with_its_organization_and_key_ids(
    sentry_events, settings, organization, api_key_for, monkeypatch
):
    from customers import views

    key, raw_key = api_key_for(organization)

    def explode(*args, **kwargs):
        raise RuntimeError(f"customer lookup failed for {raw_key}")

    monkeypatch.setattr(views, "customer_list", explode, raising=False)
    monkeypatch.setattr("customers.views.CustomerViewSet.list", explode)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=raw_key)
    assert client.get("/api/v1/customers").status_code == 500
    sentry_sdk.flush()

    event = sentry_events[-1]
    assert event["tags"]["organization_id"] == organization.id and event["tags"]["key_id"] == key.id
    assert raw_key not in json.dumps(sentry_events)
    assert "gx_live_[redacted]" in event["exception"]["values"][-1]["value"]


def _without_source_lines(events):
    """The events minus the source code around each frame (the test views' code holds "hunter2" literally)."""
    events = json.loads(json.dumps(events))
    for event in events:
        for value in (event.get("exception") or {}).get("values", []):
            for frame in (value.get("stacktrace") or {}).get("frames", []):
                for field in ("pre_context", "context_line", "post_context"):
                    frame.pop(field, None)
    return events
