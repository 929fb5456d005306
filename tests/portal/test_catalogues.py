"""The portal's catalogues: every declared webhook event (with its description and whether endpoints can
subscribe to it), every API key scope, and the API reference links — read from their one declaration."""

import html

import pytest

from api.events import event_types
from apikeys.scopes import SCOPES

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "billing", "viewer"]


def test_every_role_reads_the_catalogues(organization, owner, member_of, portal_client):
    users = {"owner": owner} | {role: member_of(organization, role=role) for role in ROLES[1:]}
    for role in ROLES:
        response = portal_client(users[role]).get("/portal/catalogues/")
        assert response.status_code == 200, role
        assert 'method="post"' not in response.content.decode().split('<main id="content">')[1]


def test_every_event_and_scope_is_listed_as_declared(organization, owner, portal_client):
    page = html.unescape(portal_client(owner).get("/portal/catalogues/").content.decode())
    events = event_types()
    assert len(events) >= 5 and any(not event.subscribable for event in events)
    rows = page.split('id="events"', 1)[1].split('id="scopes"', 1)[0].split("<tr>")[2:]
    assert len(rows) == len(events)
    for row, event in zip(rows, events, strict=True):
        assert f"<code>{event.name}</code>" in row and event.description in row
        assert ("yes" in row) == event.subscribable
    scopes = page.split('id="scopes"', 1)[1]
    assert SCOPES
    for name, description in SCOPES.items():
        assert f"<code>{name}</code></td><td>{description}</td>" in scopes


def test_the_api_reference_links_open(organization, owner, portal_client):
    client = portal_client(owner)
    page = client.get("/portal/catalogues/").content.decode()
    for url in ("/api/docs", "/api/redoc"):
        assert f'href="{url}"' in page
        assert client.get(url).status_code == 200
