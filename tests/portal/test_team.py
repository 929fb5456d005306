"""The portal's team page: members, roles, invitations and the trail, through the members services; and the
invitation email's page, which creates the account and signs the new member in."""

import re

import pytest
from django.core import mail
from django.test import Client

from organizations.models import Invitation, MemberEvent, Membership
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Send the team page's invitation form; the email goes out once the invitation is committed."""

    def send(client, email="new.dev@shop.example", role="developer"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/portal/team/invite", {"email": email, "role": role})

    return send


def _emailed_page(settings) -> str:
    return re.search(
        re.escape(settings.PUBLIC_BASE_URL) + r"(/portal/invitations/[\w-]+/)", mail.outbox[-1].body
    ).group(1)


def test_an_admin_invites_and_the_email_opens_a_page_that_creates_the_account_and_signs_in(
    invite, organization, member_of, portal_client, settings
):
    admin = member_of(organization, role="admin")
    response = invite(portal_client(admin))
    assert response["Location"] == "/portal/team/"
    page = _emailed_page(settings)
    visitor = Client()
    form = visitor.get(page)
    assert form.status_code == 200 and organization.name in form.content.decode()
    differ = visitor.post(page, {"password": "a long and fine passphrase", "password_again": "another one"})
    assert (
        differ.status_code == 200
        and not Membership.objects.filter(user__email="new.dev@shop.example").exists()
    )
    weak = visitor.post(page, {"password": "123", "password_again": "123"})
    assert weak.status_code == 200 and "stronger password" in weak.content.decode()
    joined = visitor.post(
        page, {"password": "a long and fine passphrase", "password_again": "a long and fine passphrase"}
    )
    assert joined["Location"] == "/portal/"
    assert visitor.get("/portal/").status_code == 200
    membership = Membership.objects.get(user__email="new.dev@shop.example")
    assert membership.organization == organization and membership.role == "developer"
    assert visitor.get(page).status_code == 404  # single use


def test_an_existing_user_joins_from_the_page_and_signs_in_with_their_own_password(
    invite, organization, member_of, portal_client, settings
):
    existing = UserFactory(email="known@shop.example")
    invite(portal_client(member_of(organization, role="admin")), email="known@shop.example", role="billing")
    page = _emailed_page(settings)
    joined = Client().post(page, {})
    assert joined["Location"] == "/portal/login/"
    assert Membership.objects.get(user=existing, organization=organization).role == "billing"


def test_the_team_page_lists_members_invitations_and_the_trail(
    invite, organization, owner, member_of, portal_client
):
    viewer = member_of(organization, role="viewer")
    client = portal_client(owner)
    invite(client, email="pending@shop.example")
    page = client.get("/portal/team/").content.decode()
    assert viewer.email in page and "pending@shop.example" in page and "Invited" in page


def test_a_viewer_sees_no_controls_and_is_refused_every_change(
    invite, organization, owner, member_of, portal_client
):
    viewer = member_of(organization, role="viewer")
    developer = member_of(organization, role="developer")
    client = portal_client(viewer)
    page = client.get("/portal/team/").content.decode()
    assert 'id="invite-form"' not in page and "/role" not in page
    assert invite(client).status_code == 403
    assert client.post(f"/portal/team/members/{developer.pk}/role", {"role": "admin"}).status_code == 403
    assert client.post(f"/portal/team/members/{developer.pk}/remove").status_code == 403
    assert Membership.objects.get(user=developer).role == "developer"
    assert not Invitation.objects.exists()


def test_anyone_may_leave_but_the_owner_cannot(organization, owner, member_of, portal_client):
    viewer = member_of(organization, role="viewer")
    assert portal_client(viewer).post(f"/portal/team/members/{viewer.pk}/remove")["Location"] == "/portal/"
    assert not Membership.objects.filter(user=viewer).exists()
    client = portal_client(owner)
    client.post(f"/portal/team/members/{owner.pk}/remove")
    assert Membership.objects.filter(user=owner, role="owner").exists()


def test_the_owner_transfers_ownership_and_becomes_an_admin(organization, owner, member_of, portal_client):
    developer = member_of(organization, role="developer")
    portal_client(owner).post(f"/portal/team/members/{developer.pk}/role", {"role": "owner"})
    assert Membership.objects.get(user=developer).role == "owner"
    assert Membership.objects.get(user=owner).role == "admin"
    assert MemberEvent.objects.filter(action="ownership_transferred").count() == 1


def test_an_admin_cannot_make_an_owner(organization, owner, member_of, portal_client):
    admin = member_of(organization, role="admin")
    developer = member_of(organization, role="developer")
    client = portal_client(admin)
    refused = client.post(f"/portal/team/members/{developer.pk}/role", {"role": "owner"}, follow=True)
    assert "transfer_ownership" in refused.content.decode()
    assert Membership.objects.get(user=developer).role == "developer"


def test_another_organizations_member_and_invitation_are_not_found(
    organization, other_organization, owner, portal_client
):
    stranger_membership = Membership.objects.get(organization=other_organization)
    client = portal_client(owner)
    refused = client.post(
        f"/portal/team/members/{stranger_membership.user_id}/role", {"role": "viewer"}, follow=True
    )
    assert "No member has this user id" in refused.content.decode()
    assert Membership.objects.get(pk=stranger_membership.pk).role == "owner"


@pytest.mark.parametrize(
    "email, role",
    [
        ("bad\nline@shop.example", "developer"),
        ("x" * 300 + "@shop.example", "developer"),
        ("dev@shop.example", "owner"),
        ("dev@shop.example", "superuser"),
        ("not an email", "viewer"),
    ],
)
def test_bad_invitations_are_refused_with_a_message_and_send_nothing(
    invite, organization, owner, portal_client, email, role
):
    refused = invite(portal_client(owner), email=email, role=role)
    assert refused.status_code == 302
    assert not Invitation.objects.exists() and mail.outbox == []


def test_a_forged_or_long_invitation_token_is_the_same_not_found(db):
    for token in ("nope", "x" * 100, "%2e%2e", "\u202e"):
        assert Client().get(f"/portal/invitations/{token}/").status_code == 404


def test_the_sign_in_password_of_an_invited_member_is_the_one_they_chose(
    invite, organization, member_of, portal_client, settings
):
    invite(portal_client(member_of(organization, role="admin")), email="chosen@shop.example")
    Client().post(
        _emailed_page(settings),
        {"password": "my chosen passphrase 42", "password_again": "my chosen passphrase 42"},
    )
    assert Client().login(username="chosen@shop.example", password="my chosen passphrase 42")
    assert not Client().login(username="chosen@shop.example", password=PASSWORD)
