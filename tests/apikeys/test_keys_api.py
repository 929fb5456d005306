from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey
from organizations.models import Membership

pytestmark = pytest.mark.django_db


def keys_url(organization):
    return f"/api/organizations/{organization.id}/api-keys"


def create(client, organization, **body):
    body = {"name": "Production API Key", "scopes": ["tryon:create", "tryon:read"], **body}
    return client.post(keys_url(organization), body, format="json")


def test_owner_creates_a_key_and_sees_the_full_key_once(organization, owner, jwt_client):
    client = jwt_client(owner)
    expires = (timezone.now() + timedelta(days=365)).replace(microsecond=0)
    response = create(client, organization, rateLimit=120, expiresAt=expires.isoformat())
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("gx_live_") and services.KEY_PATTERN.match(body["key"])
    assert body["keyPrefix"] == body["key"][: len(body["keyPrefix"])]
    assert body["id"].startswith("key_")
    assert body["scopes"] == ["tryon:create", "tryon:read"]
    assert body["rateLimit"] == 120 and body["status"] == "active"
    assert body["expiresAt"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {"createdAt", "lastUsedAt", "usageCount"} <= body.keys()

    listed = client.get(keys_url(organization)).json()
    assert listed["total"] == 1
    assert "key" not in listed["data"][0] and "keyHash" not in listed["data"][0]
    detail = client.get(f"{keys_url(organization)}/{body['id']}").json()
    assert "key" not in detail and body["key"] not in str(detail)
    assert services.apikey_authenticate(body["key"]).key_id == body["id"]


def test_the_key_is_never_logged(organization, owner, jwt_client, caplog):
    with caplog.at_level("DEBUG"):
        body = create(jwt_client(owner), organization).json()
    assert body["key"] not in caplog.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["tryon:create", "admin:everything"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"rateLimit": 0}, "rateLimit"),
        ({"rateLimit": 10_000_000}, "rateLimit"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_key_requests_are_validation_errors(organization, owner, jwt_client, body, field):
    response = create(jwt_client(owner), organization, **body)
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert field in response.json()["details"]
    assert not ApiKey.objects.exists()


def test_default_rate_limit_is_reported(organization, owner, jwt_client, settings):
    body = create(jwt_client(owner), organization).json()
    assert body["rateLimit"] == settings.API_KEY_DEFAULT_RATE_LIMIT


def test_all_scope_is_accepted(organization, owner, jwt_client):
    assert create(jwt_client(owner), organization, scopes=["all"]).json()["scopes"] == ["all"]


def test_revoke_is_soft_and_keeps_the_key_listed(organization, owner, jwt_client, api_key_for):
    key, raw_key = api_key_for(organization)
    client = jwt_client(owner)
    assert client.delete(f"{keys_url(organization)}/{key.id}").status_code == 204
    detail = client.get(f"{keys_url(organization)}/{key.id}").json()
    assert detail["status"] == "revoked" and detail["revokedAt"] is not None
    assert client.get(keys_url(organization)).json()["total"] == 1
    key.refresh_from_db()
    assert key.revoked_by == owner
    # Revoking twice is harmless.
    assert client.delete(f"{keys_url(organization)}/{key.id}").status_code == 204


def test_admins_manage_keys_and_members_only_read(organization, jwt_client, member_of, api_key_for):
    admin = member_of(organization, role=Membership.Role.ADMIN)
    member = member_of(organization, role=Membership.Role.VIEWER)
    assert create(jwt_client(admin), organization).status_code == 201
    key, _ = api_key_for(organization)

    member_client = jwt_client(member)
    assert member_client.get(keys_url(organization)).status_code == 200
    assert member_client.get(f"{keys_url(organization)}/{key.id}").status_code == 200
    refused = create(member_client, organization)
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert member_client.delete(f"{keys_url(organization)}/{key.id}").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_strangers_and_other_organizations_get_404(
    organization, other_organization, stranger, jwt_client, api_key_for, member_of
):
    key, _ = api_key_for(organization)
    stranger_client = jwt_client(stranger)
    assert stranger_client.get(keys_url(organization)).status_code == 404
    assert create(stranger_client, organization).status_code == 404
    assert stranger_client.delete(f"{keys_url(organization)}/{key.id}").status_code == 404

    rival_owner = member_of(other_organization, role=Membership.Role.OWNER)
    rival = jwt_client(rival_owner)
    # Through their own organization id, our key does not exist.
    for response in (
        rival.get(f"{keys_url(other_organization)}/{key.id}"),
        rival.delete(f"{keys_url(other_organization)}/{key.id}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "ResourceNotFound"
    key.refresh_from_db()
    assert key.revoked_at is None


def test_anonymous_is_401(organization):
    from rest_framework.test import APIClient

    assert APIClient().get(keys_url(organization)).status_code == 401


def test_support_staff_can_read_keys_but_not_create(organization, support_staff, jwt_client):
    client = jwt_client(support_staff)
    assert client.get(keys_url(organization)).status_code == 200
    assert create(client, organization).status_code == 404
