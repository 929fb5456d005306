"""Every portal page and action, for every role: what the role's permissions allow is done (or shown), the
rest is the portal's 403 page; every page naming an object of another organization is the 404 page. A new
route must be added to this table (a test checks that none is missing)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apikeys import services as apikeys
from customers.models import Customer
from organizations.models import Invitation, Membership
from organizations.roles import ROLE_NAMES, Permission, Role, role_allows
from organizations.services import members
from portal import urls as portal_urls
from tests.factories import UserFactory, make_organization
from tests.portal.records import store_requests
from tryons.models import CartTryOnSession
from webhooks import services as webhooks
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

# The pages anyone reaches, signed in or not (or only for their own account): not an organization's.
PUBLIC = {
    "asset",
    "login",
    "login-code",
    "logout",
    "password-reset",
    "password-reset-done",
    "password-reset-confirm",
    "password-reset-complete",
    "security",
    "invitation",
    "signup",
    "signup-verify",
    "signup-invitation",
}

# (URL name, method, permission, form): the ids in the URL are the world's objects (below).
MATRIX = [
    ("overview", "get", Permission.READ, None),
    ("switch-mode", "post", Permission.READ, {"mode": "test"}),
    ("switch-organization", "post", Permission.READ, {"organization": "{organization}"}),
    ("team", "get", Permission.READ, None),
    ("invite", "post", Permission.MANAGE_MEMBERS, {"email": "new@shop.example", "role": "viewer"}),
    ("invitation-revoke", "post", Permission.MANAGE_MEMBERS, {}),
    ("member-role", "post", Permission.MANAGE_MEMBERS, {"role": "billing"}),
    ("member-remove", "post", Permission.MANAGE_MEMBERS, {}),
    ("keys", "get", Permission.READ, None),
    ("key-create", "post", Permission.MANAGE_KEYS, {"name": "CI", "scopes": ["all"]}),
    ("key", "get", Permission.READ, None),
    ("key-edit", "post", Permission.MANAGE_KEYS, {"name": "Renamed", "scopes": ["all"]}),
    ("key-roll", "post", Permission.MANAGE_KEYS, {"expiresIn": "3600"}),
    ("key-revoke", "post", Permission.MANAGE_KEYS, {}),
    ("webhooks", "get", Permission.READ, None),
    (
        "webhook-create",
        "post",
        Permission.MANAGE_WEBHOOKS,
        {"url": "http://127.0.0.1:9/b", "events": ["credits.added"]},
    ),
    ("webhook", "get", Permission.READ, None),
    (
        "webhook-edit",
        "post",
        Permission.MANAGE_WEBHOOKS,
        {"url": "http://127.0.0.1:9/c", "events": ["credits.low"]},
    ),
    ("webhook-test", "post", Permission.MANAGE_WEBHOOKS, {}),
    ("webhook-rotate", "post", Permission.MANAGE_WEBHOOKS, {}),
    ("webhook-enable", "post", Permission.MANAGE_WEBHOOKS, {}),
    ("webhook-delete", "post", Permission.MANAGE_WEBHOOKS, {}),
    ("webhook-recover", "post", Permission.MANAGE_WEBHOOKS, {"since": "2026-01-01T00:00"}),
    ("delivery", "get", Permission.READ, None),
    ("delivery-redeliver", "post", Permission.MANAGE_WEBHOOKS, {}),
    ("logs", "get", Permission.READ, None),
    ("log", "get", Permission.READ, None),
    ("usage", "get", Permission.READ, None),
    ("credits", "get", Permission.READ, None),
    ("credits-export", "get", Permission.READ, None),
    ("credits-threshold", "post", Permission.MANAGE_BILLING, {"threshold": "25"}),
    ("customers", "get", Permission.READ, None),
    ("sessions", "get", Permission.READ, None),
    ("session", "get", Permission.READ, None),
    ("catalogues", "get", Permission.READ, None),
]


@pytest.fixture(autouse=True)
def private_targets(settings):
    """Endpoints on loopback (never called: port 9 refuses), which production refuses: allowed here only."""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


ID_NAMES = {"key_id", "webhook_id", "delivery_id", "request_id", "session_id", "invitation_id", "user_id"}


def _world(organization) -> dict:
    """One of each object the pages name, in `organization`."""
    key, _ = apikeys.apikey_create(organization=organization, name="Shop server", scopes=["all"])
    webhook = webhooks.webhook_create(
        organization_id=organization.pk, url="http://127.0.0.1:9/a", events=["credits.added"]
    )
    event = WebhookEvent.objects.create(
        organization_id=organization.pk, event="credits.added", body="{}", created_at=timezone.now()
    )
    delivery = WebhookDelivery.objects.create(
        organization_id=organization.pk, webhook=webhook, event=event, status="failed", attempt_count=1
    )
    WebhookAttempt.objects.create(delivery=delivery, number=1, status_code=500, error="HTTP 500")
    customer = Customer.objects.create(organization=organization, external_id="shopper-1", name="Jo")
    session = CartTryOnSession.objects.create(
        organization=organization,
        customer=customer,
        photo_key=f"photos/{organization.pk}/p.jpg",
        cart_id="cart_1",
        status="completed",
        render_quality="sd",
        content_hash="0" * 64,
        item_count=1,
        credits_required=1,
    )
    colleague = UserFactory()
    Membership.objects.create(organization=organization, user=colleague, role=Role.DEVELOPER)
    invitation, _ = members.invitation_create(
        organization=organization,
        actor=Membership.objects.get(organization=organization, role=Role.OWNER).user,
        email=f"invited-{organization.pk[-6:]}@shop.example",
        role="viewer",
    )
    (request_id,) = store_requests(key, at=timezone.now() - timedelta(minutes=2))
    return {
        "organization": organization.pk,
        "key_id": key.pk,
        "webhook_id": webhook.pk,
        "delivery_id": delivery.pk,
        "request_id": request_id,
        "session_id": session.pk,
        "invitation_id": invitation.pk,
        "user_id": str(colleague.pk),
    }


def _url(name: str, world: dict) -> str:
    pattern = next(p for p in portal_urls.urlpatterns if p.name == name)
    wanted = pattern.pattern.converters.keys()
    return reverse(f"portal:{name}", kwargs={arg: world[arg] for arg in wanted})


def _form(form: dict | None, world: dict) -> dict | None:
    if form is None:
        return None
    return {
        field: value.format(**world) if isinstance(value, str) else value for field, value in form.items()
    }


@pytest.fixture
def world(organization):
    return _world(organization)


def test_every_route_of_the_portal_is_in_the_matrix():
    routed = {pattern.name for pattern in portal_urls.urlpatterns}
    assert routed - PUBLIC == {name for name, *_ in MATRIX}


@pytest.mark.parametrize("role", ROLE_NAMES)
@pytest.mark.parametrize("name, method, permission, form", MATRIX, ids=[row[0] for row in MATRIX])
def test_a_role_may_do_what_its_permissions_allow_and_gets_403_otherwise(
    role, name, method, permission, form, organization, owner, world, portal_client
):
    user = owner if role == Role.OWNER else UserFactory()
    if role != Role.OWNER:
        Membership.objects.create(organization=organization, user=user, role=role)
    client = portal_client(user)
    url = _url(name, world)
    response = client.get(url) if method == "get" else client.post(url, _form(form, world))
    if role_allows(role, permission):
        assert response.status_code in (200, 302), (role, name, response.status_code)
    else:
        assert response.status_code == 403, (role, name, response.status_code)
        assert b"Not allowed" in response.content


def test_a_refused_post_changes_nothing(organization, world, portal_client):
    viewer = UserFactory()
    Membership.objects.create(organization=organization, user=viewer, role=Role.VIEWER)
    client = portal_client(viewer)
    for name, method, permission, form in MATRIX:
        if method == "post" and permission != Permission.READ:
            assert client.post(_url(name, world), _form(form, world)).status_code == 403, name
    assert Invitation.objects.filter(organization=organization).count() == 1
    assert Membership.objects.get(user_id=int(world["user_id"])).role == Role.DEVELOPER
    assert organization.api_keys.count() == 1 and organization.api_keys.get().revoked_at is None
    assert organization.webhooks.get().url == "http://127.0.0.1:9/a"
    assert WebhookDelivery.objects.filter(organization=organization).count() == 1
    threshold = organization.settings.get("lowBalanceThreshold")
    organization.refresh_from_db()
    assert organization.settings.get("lowBalanceThreshold") == threshold != 25


ID_PAGES = [(name, method) for name, method, _, _ in MATRIX if method == "get"]


def test_pages_naming_another_organizations_objects_are_not_found(organization, owner, world, portal_client):
    other = _world(make_organization(name="Other Shop"))
    client = portal_client(owner)
    checked = []
    assert ID_PAGES
    for name, _method in ID_PAGES:
        pattern = next(p for p in portal_urls.urlpatterns if p.name == name)
        if set(pattern.pattern.converters) & ID_NAMES:
            mixed = {**world, **{arg: other[arg] for arg in pattern.pattern.converters}}
            assert client.get(_url(name, mixed)).status_code == 404, name
            checked.append(name)
    assert sorted(checked) == ["delivery", "key", "log", "session", "webhook"]
