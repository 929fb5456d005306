"""An organization's pinned API version (issue 34): the newest at creation, shown with the organization,
changed only by its owner through the PATCH, and only to a known version."""

import pytest

from api import versions
from organizations.models import Membership

pytestmark = pytest.mark.django_db


def test_a_new_organization_is_pinned_to_the_newest_version(owner, jwt_client):
    response = jwt_client(owner).post("/api/organizations", {"name": "New Shop"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["apiVersion"] == versions.LATEST


def test_the_owner_pins_a_known_version_and_reads_it_back(organization, owner, jwt_client):
    client = jwt_client(owner)
    url = f"/api/organizations/{organization.id}"

    response = client.patch(url, {"apiVersion": versions.KNOWN[0]}, format="json")

    assert response.status_code == 200, response.json()
    assert client.get(url).json()["apiVersion"] == versions.KNOWN[0]
    organization.refresh_from_db()
    assert organization.api_version == versions.KNOWN[0]


@pytest.mark.parametrize("value", ["9999-12-31", "latest", "", None, 20260115])
def test_an_unknown_version_is_a_400_naming_the_field_and_changes_nothing(
    organization, owner, jwt_client, value
):
    response = jwt_client(owner).patch(
        f"/api/organizations/{organization.id}", {"apiVersion": value}, format="json"
    )

    assert response.status_code == 400
    assert (response.json()["error"], list(response.json()["details"])) == ("ValidationError", ["apiVersion"])
    organization.refresh_from_db()
    assert organization.api_version == versions.LATEST


@pytest.mark.parametrize("role", [Membership.Role.ADMIN, "developer", "billing", "viewer"])
def test_only_the_owner_changes_the_pinned_version(organization, member_of, jwt_client, role):
    member = member_of(organization, role=role)

    response = jwt_client(member).patch(
        f"/api/organizations/{organization.id}", {"apiVersion": versions.KNOWN[0]}, format="json"
    )

    assert response.status_code == 403, response.json()
    organization.refresh_from_db()
    assert organization.api_version == versions.LATEST


def test_another_organizations_pin_is_a_404(other_organization, owner, jwt_client):
    response = jwt_client(owner).patch(
        f"/api/organizations/{other_organization.id}", {"apiVersion": versions.KNOWN[0]}, format="json"
    )

    assert response.status_code == 404
