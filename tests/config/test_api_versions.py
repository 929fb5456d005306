"""Garmax-Version (api/versions.py): refused when it names no known version, answered on every /api
response, the changelog served as declared; transforms run at the edges only where a change concerns."""

import json

import pytest
from rest_framework.test import APIClient

from api import versions

pytestmark = pytest.mark.django_db

BAD_VALUES = [
    "garbage",
    "9999-12-31",
    "2026-01-15\x01",
    "2026-01-15\r\nX-Evil: 1",
    "2" * 200,
    "",
    "2026-1-15",
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_version_header_naming_no_known_version_is_a_400_in_the_error_format(
    value, organization, partner_client
):
    client = partner_client(organization)

    response = client.get("/api/v1/cart-tryons", HTTP_GARMAX_VERSION=value)

    body = response.json()
    assert response.status_code == 400, body
    assert (body["error"], body["code"]) == ("ValidationError", 400)
    assert body["details"]["knownVersions"] == list(reversed(versions.KNOWN))
    assert all(known in body["message"] for known in versions.KNOWN)
    if value not in ("", "9999-12-31"):
        assert value not in body["message"]  # only a well-formed date is echoed
    assert response["X-Request-Id"] and response["Garmax-Version"] == versions.LATEST


def test_an_unknown_version_is_refused_before_authentication_and_changes_nothing():
    response = APIClient().post("/api/v1/customers", {"externalId": "c"}, HTTP_GARMAX_VERSION="2000-01-01")

    assert response.status_code == 400
    assert response.json()["details"]["Garmax-Version"] == [
        f"Unknown API version 2000-01-01. Known versions: {', '.join(reversed(versions.KNOWN))}."
    ]


def test_every_api_response_names_the_version_that_answered_and_other_pages_do_not():
    client = APIClient()
    assert client.get("/api/v1/customers")["Garmax-Version"] == versions.LATEST  # a 401 too
    assert client.get("/api/nothing-here")["Garmax-Version"] == versions.LATEST  # and a 404
    assert (
        client.get("/api/docs/changelog", HTTP_GARMAX_VERSION=versions.KNOWN[0])["Garmax-Version"]
        == (versions.KNOWN[0])
    )
    assert not client.get("/health").has_header("Garmax-Version")


def test_the_changelog_is_served_as_declared_and_committed_as_markdown():
    served = APIClient().get("/api/docs/changelog").json()

    assert served == versions.changelog()
    assert [entry["version"] for entry in served["versions"]] == list(reversed(versions.KNOWN))
    assert served["latest"] == versions.LATEST and served["header"] == "Garmax-Version"
    first_change = served["versions"][0]["changes"][0]
    assert first_change["operation"] == "POST /api/v1/cart-tryons"
    markdown = versions.__file__.rsplit("/api/", 1)[0] + "/CHANGELOG.md"
    with open(markdown) as committed:
        assert committed.read() == versions.changelog_markdown().rstrip("\n") + "\n"


@pytest.fixture
def renamed_field(monkeypatch):
    """A version before the first, whose customer upsert took `customerRef` (the first: externalId)."""

    def to_newer(body):
        return {("externalId" if k == "customerRef" else k): v for k, v in body.items()}

    change = versions.Change(
        "renamed customerRef", method="POST", path=r"/api/v1/customers", request=to_newer
    )
    first = versions.VERSIONS[0]
    declared = (
        versions.ApiVersion("2025-06-01", "test only"),
        versions.ApiVersion(first.date, first.summary, changes=(*first.changes, change)),
        *versions.VERSIONS[1:],
    )
    monkeypatch.setattr(versions, "VERSIONS", declared)
    monkeypatch.setattr(versions, "KNOWN", tuple(v.date for v in declared))
    monkeypatch.setattr(versions, "_INDEX", {v.date: i for i, v in enumerate(declared)})


def test_an_older_versions_request_is_brought_up_to_the_newest_before_the_view(
    renamed_field, organization, partner_client
):
    client = partner_client(organization)
    old = {"customerRef": "written_for_2025", "name": "Old"}

    in_old = client.post("/api/v1/customers", old, format="json", HTTP_GARMAX_VERSION="2025-06-01")
    in_first = client.post("/api/v1/customers", old, format="json", HTTP_GARMAX_VERSION=versions.KNOWN[1])

    assert (in_old.status_code, in_old["Garmax-Version"]) == (201, "2025-06-01"), in_old.json()
    assert in_old.json()["externalId"] == "written_for_2025"
    assert in_first.status_code == 400  # the first version never took customerRef
    assert "externalId" in in_first.json()["details"]


def test_a_webhook_payload_is_taken_down_to_the_endpoints_version(monkeypatch):
    change = versions.Change(
        "renamed", event="cart_tryon.completed", payload=lambda data: {"old": data["new"]}
    )
    declared = (*versions.VERSIONS, versions.ApiVersion("2027-01-01", "test only", changes=(change,)))
    monkeypatch.setattr(versions, "VERSIONS", declared)
    monkeypatch.setattr(versions, "_INDEX", {v.date: i for i, v in enumerate(declared)})

    older = versions.payload_in_version(versions.KNOWN[-1], event="cart_tryon.completed", data={"new": 1})
    newest = versions.payload_in_version("2027-01-01", event="cart_tryon.completed", data={"new": 1})
    other = versions.payload_in_version(versions.KNOWN[-1], event="tryon.completed", data={"new": 1})

    assert (older, newest, other) == ({"old": 1}, {"new": 1}, {"new": 1})
    assert json.dumps(versions.changelog())  # serializable as served
