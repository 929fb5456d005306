"""Issue 27 item 6, over HTTP against the README's production command: a rolled key's grace can be shortened,
never removed or extended, and its events say what happened."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.factories import PASSWORD, UserFactory, make_organization
from tests.live_service import live_service  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_rolled_keys_grace_can_be_shortened_but_never_removed_or_extended(
    live_service,  # noqa: F811
    transactional_db,
    service_password_hasher,
):
    owner = UserFactory(username="rolling-owner")
    organization = make_organization(owner=owner, name="Rolling Apparel")
    token = requests.post(
        live_service.url("/api/auth/token"),
        json={"username": owner.username, "password": PASSWORD},
        timeout=10,
    ).json()["access"]
    jwt = {"Authorization": f"Bearer {token}"}
    keys_url = live_service.url(f"/api/organizations/{organization.id}/api-keys")

    created = requests.post(keys_url, json={"name": "storefront", "scopes": ["all"]}, headers=jwt, timeout=10)
    assert created.status_code == 201, created.text
    old_id = created.json()["id"]
    rolled = requests.post(f"{keys_url}/{old_id}/roll", json={"expiresIn": 60}, headers=jwt, timeout=10)
    assert rolled.status_code == 201, rolled.text
    old = requests.get(f"{keys_url}/{old_id}", headers=jwt, timeout=10).json()
    grace_end = old["expiresAt"]
    assert old["replacedBy"] == rolled.json()["id"] and grace_end is not None

    later = datetime.fromisoformat(grace_end) + timedelta(days=30)
    for attempt in ({"expiresAt": None}, {"expiresAt": iso(later)}, {"name": "kept", "expiresAt": None}):
        response = requests.patch(f"{keys_url}/{old_id}", json=attempt, headers=jwt, timeout=10)
        assert response.status_code == 409, (attempt, response.status_code, response.text)
        body = response.json()
        assert body["error"] == "Conflict" and body["code"] == 409
        assert (
            body["details"]["expiresAt"] == grace_end and body["details"]["replacedBy"] == rolled.json()["id"]
        )
    unchanged = requests.get(f"{keys_url}/{old_id}", headers=jwt, timeout=10).json()
    assert unchanged["expiresAt"] == grace_end and unchanged["name"] == "storefront"

    sooner = datetime.fromisoformat(grace_end) - timedelta(seconds=30)
    shortened = requests.patch(
        f"{keys_url}/{old_id}", json={"expiresAt": iso(sooner)}, headers=jwt, timeout=10
    )
    assert shortened.status_code == 200, shortened.text
    assert datetime.fromisoformat(shortened.json()["expiresAt"]) == sooner

    events = requests.get(f"{keys_url}/{old_id}/events", headers=jwt, timeout=10).json()["data"]
    by_kind = {event["type"]: event for event in events}
    assert set(by_kind) == {"created", "rolled", "updated"}, events
    rolled_to = datetime.fromisoformat(by_kind["rolled"]["changes"]["expiresAt"]["to"])
    assert rolled_to.replace(microsecond=0) == datetime.fromisoformat(grace_end)
    change = by_kind["updated"]["changes"]["expiresAt"]
    assert datetime.fromisoformat(change["from"]) == rolled_to
    assert datetime.fromisoformat(change["to"]) == sooner
