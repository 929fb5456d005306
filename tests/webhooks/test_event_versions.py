"""Webhook bodies are rendered in the API version the organization pinned (its sandbox follows the live pin):
the event's data goes through api.versions' payload transforms once, when the event is recorded."""

import json

import pytest

from organizations.models import Organization
from organizations.services import organization_sandbox
from webhooks.services import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch):
    """Each rendering's version, and a body that says which one it was rendered in."""
    seen = []

    def render(version, *, event, data):
        seen.append((version, event))
        return {**data, "renderedIn": version}

    monkeypatch.setattr(outbox, "payload_in_version", render)
    return seen


def _body(event) -> dict:
    return json.loads(event.body)


def test_an_event_is_rendered_in_the_organizations_pinned_version(organization, renders):
    Organization.objects.filter(pk=organization.pk).update(api_version="2026-01-15")
    event = outbox.event_create(organization_id=organization.pk, event="credits.added", data={"amount": 5})
    assert renders == [("2026-01-15", "credits.added")]
    assert _body(event)["data"] == {"amount": 5, "renderedIn": "2026-01-15"}


def test_the_sandbox_follows_the_live_pin(organization, renders):
    sandbox = organization_sandbox(organization=organization)
    Organization.objects.filter(pk=organization.pk).update(api_version="2026-01-15")
    Organization.objects.filter(pk=sandbox.pk).update(api_version="2026-11-01")
    event = outbox.event_create(
        organization_id=sandbox.pk, event="credits.added", data={"organizationId": sandbox.pk}
    )
    assert renders == [("2026-01-15", "credits.added")]
    assert _body(event)["data"]["organizationId"] == organization.pk and _body(event)["livemode"] is False
