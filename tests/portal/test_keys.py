"""The portal's API keys pages: the keys of the mode being viewed, the secret shown once, edit, roll and
revoke through the JWT API's services, and who may do what."""

import re
from datetime import timedelta

import bcrypt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ApiKey, ApiKeyEvent
from organizations.roles import Role

pytestmark = pytest.mark.django_db

KEYS = "/portal/keys/"
SECRET = re.compile(r"gx_(?:live|test)_[A-Za-z0-9]{20,}")
MANAGERS = ("owner", "admin", "developer")
READERS = ("billing", "viewer")


@pytest.fixture
def signed_in(organization, owner, member_of, portal_client):
    """A portal client signed in as a member of `organization` with `role`."""

    def sign_in(role: str):
        user = owner if role == Role.OWNER else member_of(organization, role=role)
        return portal_client(user)

    return sign_in


def _create(client, **fields):
    data = {"name": "Production server", "scopes": ["tryon:create", "tryon:read"], **fields}
    return client.post(f"{KEYS}new", data)


def _secrets(response) -> list[str]:
    return SECRET.findall(response.content.decode())


@pytest.mark.parametrize("role", MANAGERS + READERS)
def test_the_keys_pages_render_for_every_role_with_controls_only_for_key_managers(
    role, signed_in, organization, api_key_for
):
    key, _ = api_key_for(organization, name="Shop backend")
    client = signed_in(role)
    listed = client.get(KEYS)
    detail = client.get(f"{KEYS}{key.pk}/")
    assert listed.status_code == detail.status_code == 200
    assert "Shop backend" in listed.content.decode() and key.key_prefix in detail.content.decode()
    controls = ('id="key-create"', "/edit", "/roll", "/revoke")
    shown = [control for control in controls if control in listed.content.decode() + detail.content.decode()]
    assert shown == (list(controls) if role in MANAGERS else [])


def test_a_developer_creates_a_key_whose_secret_is_shown_once_and_works(signed_in, organization):
    client = signed_in("developer")
    response = _create(
        client, scopes=["tryon:read", "account:read"], rateLimit="120", expiresAt="2099-01-02T03:04"
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (secret,) = set(_secrets(response))
    assert secret.startswith("gx_live_")
    assert 'data-copy="new-secret"' in response.content.decode()
    assert "shown only once" in response.content.decode()
    key = ApiKey.objects.get(organization=organization)
    assert (key.name, key.mode, key.scopes, key.rate_limit) == (
        "Production server",
        "live",
        ["account:read", "tryon:read"],
        120,
    )
    assert key.expires_at.isoformat() == "2099-01-02T03:04:00+00:00"
    assert bcrypt.checkpw(secret.encode(), key.key_hash.encode())
    assert ApiKeyEvent.objects.get(api_key=key).kind == "created"

    # Never again: not on the pages, not in the session.
    assert _secrets(client.get(KEYS)) == [] and _secrets(client.get(f"{KEYS}{key.pk}/")) == []
    assert secret not in str(dict(client.session.items()))
    # The key works on the partner API like one made by POST /api/organizations/{id}/api-keys.
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=secret)
    account = api.get("/api/v1/account")
    assert account.status_code == 200 and account.json()["apiKey"]["id"] == key.pk


def test_test_mode_lists_and_creates_only_test_keys(signed_in, organization, api_key_for):
    live, _ = api_key_for(organization, name="Live one")
    client = signed_in("developer")
    client.post("/portal/mode", {"mode": "test"})
    test_key, _ = api_key_for(organization, name="Test one", mode="test")

    page = client.get(KEYS).content.decode()
    assert "Test one" in page and "Live one" not in page
    assert client.get(f"{KEYS}{live.pk}/").status_code == 404
    assert client.post(f"{KEYS}{live.pk}/revoke").status_code == 404

    created = _create(client, name="Made in test mode")
    (secret,) = set(_secrets(created))
    assert secret.startswith("gx_test_")
    assert ApiKey.objects.get(name="Made in test mode").mode == "test"
    assert client.get(f"{KEYS}{test_key.pk}/").status_code == 200

    client.post("/portal/mode", {"mode": "live"})
    live_page = client.get(KEYS).content.decode()
    assert "Live one" in live_page and "Test one" not in live_page and "Made in test mode" not in live_page


def test_editing_a_key_changes_it_as_the_api_patch_does(signed_in, organization, api_key_for):
    key, _ = api_key_for(organization, name="Old name", rate_limit=30)
    client = signed_in("developer")
    response = client.post(
        f"{KEYS}{key.pk}/edit",
        {"name": "New name", "scopes": ["customers:read"], "rateLimit": "", "expiresAt": ""},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.scopes, key.rate_limit, key.expires_at) == (
        "New name",
        ["customers:read"],
        None,
        None,
    )
    event = ApiKeyEvent.objects.get(api_key=key, kind="updated")
    assert set(event.changes) == {"name", "scopes", "rateLimit"}
    assert event.actor is not None  # the member who saved the form
    page = client.get(f"{KEYS}{key.pk}/").content.decode()
    assert "updated" in page and "Old name → New name" in page


def test_resubmitting_a_rolled_keys_form_keeps_its_planned_end(signed_in, organization, api_key_for):
    key, _ = api_key_for(organization)
    client = signed_in("developer")
    client.post(f"{KEYS}{key.pk}/roll", {"expiresIn": "3600"})
    key.refresh_from_db()
    planned = key.expires_at
    shown = re.search(
        r'name="expiresAt" type="datetime-local" value="([^"]*)"',
        client.get(f"{KEYS}{key.pk}/").content.decode(),
    )
    client.post(
        f"{KEYS}{key.pk}/edit",
        {"name": "Renamed", "scopes": key.scopes, "rateLimit": "", "expiresAt": shown.group(1)},
    )
    key.refresh_from_db()
    assert key.name == "Renamed" and key.expires_at == planned
    # Putting it off is refused as the API refuses it (409), and nothing of that form applies.
    later = (planned + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(
        f"{KEYS}{key.pk}/edit",
        {"name": "Again", "scopes": key.scopes, "rateLimit": "", "expiresAt": later},
        follow=True,
    )
    key.refresh_from_db()
    assert key.name == "Renamed" and key.expires_at == planned
    assert "never removed or put off" in refused.content.decode()


def test_rolling_shows_the_new_secret_once_and_keeps_the_old_key_for_the_grace(
    signed_in, organization, api_key_for
):
    key, old_secret = api_key_for(organization, name="Rolled")
    client = signed_in("developer")
    response = client.post(f"{KEYS}{key.pk}/roll", {"expiresIn": "3600"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    (secret,) = set(_secrets(response))
    assert secret != old_secret
    key.refresh_from_db()
    new = ApiKey.objects.get(pk=key.replaced_by_id)
    assert (new.name, new.mode, new.scopes) == ("Rolled", "live", key.scopes)
    assert bcrypt.checkpw(secret.encode(), new.key_hash.encode())
    assert timedelta(minutes=59) < key.expires_at - timezone.now() <= timedelta(hours=1)
    assert key.status == "active"
    assert _secrets(client.get(f"{KEYS}{new.pk}/")) == []
    # A key is rolled once, as the API says (409).
    again = client.post(f"{KEYS}{key.pk}/roll", {"expiresIn": "0"}, follow=True)
    assert "already rolled" in again.content.decode()
    assert ApiKey.objects.filter(organization=organization).count() == 2


def test_revoking_asks_first_then_revokes(signed_in, organization, api_key_for):
    key, _ = api_key_for(organization)
    client = signed_in("developer")
    confirm = client.get(f"{KEYS}{key.pk}/revoke")
    assert confirm.status_code == 200 and "Revoke this key" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.post(f"{KEYS}{key.pk}/revoke").status_code == 302
    key.refresh_from_db()
    assert key.status == "revoked"
    assert ApiKeyEvent.objects.filter(api_key=key, kind="revoked").count() == 1
    assert "Revoke this key" not in client.get(f"{KEYS}{key.pk}/").content.decode()


@pytest.mark.parametrize("role", READERS)
def test_billing_and_viewers_get_403_on_forged_posts_and_nothing_changes(
    role, signed_in, organization, api_key_for
):
    key, _ = api_key_for(organization, name="Kept")
    client = signed_in(role)
    forged = [
        client.post(f"{KEYS}new", {"name": "Forged", "scopes": ["all"]}),
        client.post(f"{KEYS}{key.pk}/edit", {"name": "Forged", "scopes": ["all"]}),
        client.post(f"{KEYS}{key.pk}/roll", {"expiresIn": "0"}),
        client.post(f"{KEYS}{key.pk}/revoke"),
        client.get(f"{KEYS}{key.pk}/revoke"),
    ]
    assert [response.status_code for response in forged] == [403] * 5
    key.refresh_from_db()
    assert (key.name, key.revoked_at, key.replaced_by_id) == ("Kept", None, None)
    assert ApiKey.objects.filter(organization=organization).count() == 1


def test_another_organizations_key_is_a_404_everywhere(signed_in, other_organization, api_key_for):
    foreign, _ = api_key_for(other_organization, name="Theirs")
    client = signed_in("owner")
    responses = [
        client.get(f"{KEYS}{foreign.pk}/"),
        client.post(f"{KEYS}{foreign.pk}/edit", {"name": "Mine", "scopes": ["all"]}),
        client.post(f"{KEYS}{foreign.pk}/roll", {"expiresIn": "0"}),
        client.post(f"{KEYS}{foreign.pk}/revoke"),
        client.get(f"{KEYS}{'k' * 100}/"),
        client.get(f"{KEYS}key_%01x/"),
    ]
    assert [response.status_code for response in responses] == [404] * 6
    assert client.get(f"{KEYS}key_%00x/").status_code in (400, 404)  # refused before the page, or by it
    foreign.refresh_from_db()
    assert (foreign.name, foreign.revoked_at, foreign.replaced_by_id) == ("Theirs", None, None)
    assert "Theirs" not in client.get(KEYS).content.decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Bad\nname"},
        {"name": "x" * 300},
        {"name": ""},
        {"scopes": []},
        {"scopes": ["everything"]},
        {"rateLimit": "lots"},
        {"rateLimit": "0"},
        {"rateLimit": "9" * 30},
        {"expiresAt": "not a date"},
        {"expiresAt": "0001-01-01T00:00"},
        {"expiresAt": "2001-01-01T00:00"},
        {"expiresAt": "99999-01-01T00:00"},
    ],
)
def test_bad_input_is_refused_with_a_message_and_creates_nothing(fields, signed_in, organization):
    client = signed_in("developer")
    response = _create(client, **fields)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Not saved" in page or "Must be" in page
    assert not ApiKey.objects.filter(organization=organization).exists()


@pytest.mark.parametrize(
    "fields",
    [{"name": "Bad\u202ename"}, {"scopes": ["nope"]}, {"rateLimit": "-1"}, {"expiresAt": "9999-99-99T00:00"}],
)
def test_bad_edits_change_nothing(fields, signed_in, organization, api_key_for):
    key, _ = api_key_for(organization, name="Stable", scopes=["tryon:read"])
    client = signed_in("developer")
    data = {"name": "Stable", "scopes": ["tryon:read"], "rateLimit": "", "expiresAt": "", **fields}
    assert client.post(f"{KEYS}{key.pk}/edit", data).status_code == 302
    key.refresh_from_db()
    assert (key.name, key.scopes, key.rate_limit, key.expires_at) == ("Stable", ["tryon:read"], None, None)
    assert not ApiKeyEvent.objects.filter(api_key=key, kind="updated").exists()


def test_a_far_expiry_and_a_bad_grace_never_500(signed_in, organization, api_key_for):
    client = signed_in("developer")
    far = _create(client, name="Far", expiresAt="9999-12-31T23:59")
    assert far.status_code in (200, 302)
    assert client.get(KEYS).status_code == 200
    key, _ = api_key_for(organization, name="Grace")
    for grace in ("-1", "604801", "soon", "1" * 50):
        assert client.post(f"{KEYS}{key.pk}/roll", {"expiresIn": grace}).status_code == 302
    key.refresh_from_db()
    assert key.replaced_by_id is None
    assert client.get(f"{KEYS}?after={'x' * 200}").status_code == 200
    assert client.get(f"{KEYS}?after=%01").status_code == 200
