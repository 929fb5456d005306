"""The team: what each role may do on every JWT endpoint, members added, changed and removed, one owner who
transfers ownership, invitations (single use, expiring, hashed, emailed) and the team's audit trail."""

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apikeys import services as apikey_services
from organizations.models import Invitation, MemberEvent, Membership
from organizations.roles import ROLE_PERMISSIONS, Permission, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def _as(jwt_client, organization, member_of, role):
    if role == "owner":
        return jwt_client(organization.memberships.get(role="owner").user)
    return jwt_client(member_of(organization, role=role))


# (what it does, the permission it needs, the request as (method, path, body)); {org} and {key} filled in.
ENDPOINTS = [
    ("read the organization", Permission.READ, ("get", "/api/organizations/{org}", None)),
    ("read the ledger", Permission.READ, ("get", "/api/organizations/{org}/credits", None)),
    ("list keys", Permission.READ, ("get", "/api/organizations/{org}/api-keys", None)),
    ("list members", Permission.READ, ("get", "/api/organizations/{org}/members", None)),
    ("read the team trail", Permission.READ, ("get", "/api/organizations/{org}/members/events", None)),
    ("rename", Permission.MANAGE_ORGANIZATION, ("patch", "/api/organizations/{org}", {"name": "New name"})),
    (
        "set a setting",
        Permission.MANAGE_ORGANIZATION,
        ("patch", "/api/organizations/{org}", {"settings": {"webhookRetries": 3}}),
    ),
    (
        "set the billing email",
        Permission.MANAGE_BILLING,
        ("patch", "/api/organizations/{org}", {"billingEmail": "ap@example.com"}),
    ),
    (
        "set the low-balance threshold",
        Permission.MANAGE_BILLING,
        ("patch", "/api/organizations/{org}", {"settings": {"lowBalanceThreshold": 5}}),
    ),
    (
        "create a key",
        Permission.MANAGE_KEYS,
        ("post", "/api/organizations/{org}/api-keys", {"name": "ci", "scopes": ["all"]}),
    ),
    ("revoke a key", Permission.MANAGE_KEYS, ("delete", "/api/organizations/{org}/api-keys/{key}", None)),
    (
        "reset the sandbox",
        Permission.MANAGE_TEST_MODE,
        ("post", "/api/organizations/{org}/sandbox/reset", {}),
    ),
    ("list invitations", Permission.MANAGE_MEMBERS, ("get", "/api/organizations/{org}/invitations", None)),
    (
        "invite",
        Permission.MANAGE_MEMBERS,
        ("post", "/api/organizations/{org}/invitations", {"email": "new@example.com", "role": "viewer"}),
    ),
    (
        "revoke an invitation",
        Permission.MANAGE_MEMBERS,
        ("post", "/api/organizations/{org}/invitations/{invitation}/revoke", {}),
    ),
    (
        "add a member",
        Permission.MANAGE_MEMBERS,
        ("post", "/api/organizations/{org}/members", {"email": "outsider@example.com", "role": "viewer"}),
    ),
    (
        "change a member's role",
        Permission.MANAGE_MEMBERS,
        ("patch", "/api/organizations/{org}/members/{teammate}", {"role": "billing"}),
    ),
    (
        "remove a member",
        Permission.MANAGE_MEMBERS,
        ("delete", "/api/organizations/{org}/members/{teammate}", None),
    ),
    ("read a key", Permission.READ, ("get", "/api/organizations/{org}/api-keys/{key}", None)),
    (
        "change a key",
        Permission.MANAGE_KEYS,
        ("patch", "/api/organizations/{org}/api-keys/{key}", {"name": "ci-2"}),
    ),
    (
        "roll a key",
        Permission.MANAGE_KEYS,
        ("post", "/api/organizations/{org}/api-keys/{key}/roll", {"expiresIn": 3600}),
    ),
    ("read a key's events", Permission.READ, ("get", "/api/organizations/{org}/api-keys/{key}/events", None)),
    ("read a key's usage", Permission.READ, ("get", "/api/organizations/{org}/api-keys/{key}/usage", None)),
    ("read the usage", Permission.READ, ("get", "/api/organizations/{org}/usage", None)),
    ("read the request log", Permission.READ, ("get", "/api/organizations/{org}/logs/requests", None)),
]
# Organization routes a member's role does not decide, and where they are tested instead.
NOT_BY_ROLE = {
    ("post", "/api/organizations/{}/credits"): "staff only: tests/organizations/test_top_up_idempotency.py",
    ("get", "/api/organizations/{}/logs/requests/{}"): "a stored request's id: tests/usage/",
}


@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize(("what", "permission", "request_"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_role_can_do_exactly_what_its_permissions_say(
    role, what, permission, request_, organization, member_of, jwt_client
):
    key, _ = apikey_services.apikey_create(organization=organization, name="k", scopes=["all"])
    UserFactory(email="outsider@example.com")
    teammate = member_of(organization, role="developer")
    invitation = Invitation.objects.create(
        organization=organization,
        email="invited@example.com",
        role="viewer",
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    method, path, body = request_
    client = _as(jwt_client, organization, member_of, role)
    ids = {"org": organization.id, "key": key.id, "teammate": teammate.pk, "invitation": invitation.pk}
    answer = getattr(client, method)(path.format(**ids), body, format="json")
    if permission in ROLE_PERMISSIONS[Role(role)]:
        assert answer.status_code in (200, 201, 204), (role, what, answer.content)
    else:
        assert answer.status_code == 403, (role, what, answer.content)
        assert answer.json()["details"] == {"role": role, "permission": str(permission)}


def _organization_routes() -> set[tuple[str, str]]:
    """(method, path with {} for each parameter) of every JWT route under /api/organizations/{id}."""
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    routes = set()
    for route, view in walk(get_resolver().url_patterns):
        path = "/" + re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)", "{}", route.replace("^", "").replace("$", ""))
        if path.startswith("/api/organizations/{}") and getattr(view, "actions", None):
            allowed = set(view.cls.http_method_names) - {"head", "options"}  # HEAD is GET's
            routes.update((method, path) for method in view.actions if method in allowed)
    return routes


def test_every_organization_route_is_in_the_role_table():
    tabled = {(method, re.sub(r"\{\w+\}", "{}", path)) for _, _, (method, path, _) in ENDPOINTS}
    routes = _organization_routes()
    assert len(routes) >= 20
    assert routes - tabled - set(NOT_BY_ROLE) == set()


def test_a_non_member_gets_a_404_and_the_readme_table_is_the_permission_table(
    organization, stranger, jwt_client
):
    assert jwt_client(stranger).get(f"/api/organizations/{organization.id}/members").status_code == 404
    table = README.read_text().split("## Team and roles", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    found = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        permission = Permission(cells[0].strip("`"))
        found[permission] = {role for role, cell in zip(Role, cells[1:], strict=True) if cell == "✓"}
    assert found == {p: {r for r in Role if p in ROLE_PERMISSIONS[r]} for p in Permission}


def test_members_are_added_changed_and_removed_and_every_change_is_in_the_trail(
    organization, owner, member_of, jwt_client
):
    admin = member_of(organization, role="admin")
    client = jwt_client(admin)
    base = f"/api/organizations/{organization.id}/members"
    colleague = UserFactory(email="Dev@Example.com")
    added = client.post(base, {"email": "dev@example.com", "role": "developer"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "developer"
    assert client.post(base, {"email": "dev@example.com", "role": "viewer"}, format="json").status_code == 409
    unknown = client.post(base, {"email": "nobody@example.com", "role": "viewer"}, format="json")
    assert unknown.status_code == 404 and "invite" in unknown.json()["message"]
    assert client.post(base, {"email": "x@example.com", "role": "owner"}, format="json").status_code == 400
    unchanged = client.patch(f"{base}/{colleague.pk}", {}, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["role"] == "developer"
    changed = client.patch(f"{base}/{colleague.pk}", {"role": "billing"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "billing"
    # The owner's role moves only by a transfer, which only the owner makes.
    assert client.patch(f"{base}/{owner.pk}", {"role": "viewer"}, format="json").status_code == 409
    assert client.patch(f"{base}/{colleague.pk}", {"role": "owner"}, format="json").status_code == 403
    assert client.delete(f"{base}/{owner.pk}").status_code == 409
    assert client.delete(f"{base}/{colleague.pk}").status_code == 204
    for unknown_id in ("999999", "9" * 40, "١٢", "abc", "-1"):
        assert client.delete(f"{base}/{unknown_id}").status_code == 404, unknown_id
        assert client.patch(f"{base}/{unknown_id}", {"role": "viewer"}, format="json").status_code == 404
    listed = client.get(base).json()["data"]
    assert {member["role"] for member in listed} == {"owner", "admin"}
    trail = client.get(f"{base}/events").json()["data"]
    assert [event["action"] for event in trail] == ["removed", "role_changed", "added"]
    assert trail[1] | {"createdAt": None, "id": None} == {
        "id": None,
        "action": "role_changed",
        "actor": admin.email,
        "subject": colleague.email,
        "roleBefore": "developer",
        "roleAfter": "billing",
        "createdAt": None,
    }


def test_the_owner_transfers_ownership_and_becomes_an_admin_and_a_viewer_can_leave(
    organization, owner, member_of, jwt_client
):
    heir = member_of(organization, role="developer")
    viewer = member_of(organization, role="viewer")
    base = f"/api/organizations/{organization.id}/members"
    answer = jwt_client(owner).patch(f"{base}/{heir.pk}", {"role": "owner"}, format="json")
    assert answer.status_code == 200 and answer.json()["role"] == "owner"
    roles = dict(Membership.objects.filter(organization=organization).values_list("user_id", "role"))
    assert roles == {owner.pk: "admin", heir.pk: "owner", viewer.pk: "viewer"}
    assert Membership.objects.filter(organization=organization, role="owner").count() == 1
    refused = jwt_client(viewer).delete(f"{base}/{owner.pk}")  # an admin now
    assert refused.status_code == 403
    assert refused.json()["details"] == {"role": "viewer", "permission": "manage_members"}
    assert jwt_client(viewer).delete(f"{base}/{viewer.pk}").status_code == 204, "anyone may leave"
    assert jwt_client(heir).delete(f"{base}/{heir.pk}").status_code == 409, "not the owner"
    actions = list(MemberEvent.objects.filter(organization=organization).values_list("action", flat=True))
    assert actions == ["left", "ownership_transferred"]


def _invite(client, organization, capture, email="new.person@example.com", role="developer"):
    """Invite, the email sent once the invitation commits; -> (the invitation, the token from the email)."""
    with capture(execute=True):
        answer = client.post(
            f"/api/organizations/{organization.id}/invitations", {"email": email, "role": role}, format="json"
        )
    assert answer.status_code == 201, answer.content
    (message,) = mail.outbox[-1:]
    token = re.search(r"/api/invitations/([\w-]+)/accept", message.body).group(1)
    return answer.json(), token


def test_an_invitation_is_emailed_stored_hashed_and_accepted_once_creating_the_account(
    organization, owner, jwt_client, django_capture_on_commit_callbacks
):
    invitation, token = _invite(jwt_client(owner), organization, django_capture_on_commit_callbacks)
    assert invitation["status"] == "pending" and mail.outbox[-1].to == ["new.person@example.com"]
    stored = Invitation.objects.get(pk=invitation["id"])
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(
        stored.__dict__
    )
    anonymous = Client()
    weak = anonymous.post(f"/api/invitations/{token}/accept", {"password": "123"}, "application/json")
    assert weak.status_code == 400 and "password" in weak.json()["details"]
    accepted = anonymous.post(
        f"/api/invitations/{token}/accept", {"password": "a long and fine passphrase"}, "application/json"
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["organizationId"] == organization.id and accepted.json()["role"] == "developer"
    again = anonymous.post(
        f"/api/invitations/{token}/accept", {"password": "a long and fine passphrase"}, "application/json"
    )
    assert again.status_code == 404, "single use"
    signed_in = Client().post(
        "/api/auth/token",
        {"username": "new.person@example.com", "password": "a long and fine passphrase"},
        "application/json",
    )
    assert signed_in.status_code == 200
    listed = jwt_client(owner).get(f"/api/organizations/{organization.id}/invitations").json()["data"]
    assert listed[0]["status"] == "accepted"


def test_an_existing_user_joins_without_a_password_and_expired_revoked_or_forged_tokens_join_nothing(
    organization, owner, jwt_client, django_capture_on_commit_callbacks
):
    existing = UserFactory(email="known@example.com")
    client = jwt_client(owner)
    capture = django_capture_on_commit_callbacks
    _, token = _invite(client, organization, capture, email="known@example.com", role="billing")
    expired, expired_token = _invite(client, organization, capture, email="late@example.com")
    revoked, revoked_token = _invite(client, organization, capture, email="gone@example.com")
    assert Client().post(f"/api/invitations/{token}/accept", {}, "application/json").status_code == 200
    assert Membership.objects.get(organization=organization, user=existing).role == "billing"
    Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoke = client.post(f"/api/organizations/{organization.id}/invitations/{revoked['id']}/revoke")
    assert revoke.status_code == 200 and revoke.json()["status"] == "revoked"
    for bad in (expired_token, revoked_token, "forged", "x" * 300):
        answer = Client().post(f"/api/invitations/{bad}/accept", {"password": "a long and fine passphrase"},
                               "application/json")  # fmt: skip
        assert answer.status_code == 404, bad
    assert not Membership.objects.filter(user__email__in=["late@example.com", "gone@example.com"]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_member_role_migrates_to_viewer_keeping_what_it_could_do():
    """A member could only read: migrated, they are viewers; owners and admins stay as they were."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("organizations", "0005_list_indexes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    organization = apps.get_model("organizations", "Organization").objects.create(name="Old Co")
    users = apps.get_model("auth", "User").objects
    roles = {"owner": "owner", "admin": "admin", "member": "viewer"}
    for old in roles:
        user = users.create(username=f"old-{old}")
        apps.get_model("organizations", "Membership").objects.create(
            organization=organization, user=user, role=old
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = dict(
        Membership.objects.filter(organization_id=organization.pk).values_list("user__username", "role")
    )
    assert migrated == {f"old-{old}": new for old, new in roles.items()}
    assert ROLE_PERMISSIONS[Role.VIEWER] == {Permission.READ}
