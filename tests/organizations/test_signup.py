"""Signup without our staff (issue 32, README "Signup"): PARTNER_SIGNUP closed, invite and open; the email
verified before the organization gets its grant, single-use expiring hashed tokens, answers that tell
nobody whether an email has an account, limits per address and per email domain, and bad input refused
with nothing written."""

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.models import CreditLedgerEntry, Membership, Organization, SignupRequest
from organizations.services import signup
from tests.concurrency import run_concurrently
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]  # signup emails are tasks

User = get_user_model()
PASSWORD = "a long and fine passphrase"
SIGNUP, VERIFY = "/api/auth/signup", "/api/auth/signup/verify"


@pytest.fixture
def mode(settings):
    def set_mode(value):
        settings.PARTNER_SIGNUP = value

    return set_mode


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST JSON as an anonymous client, running what the request queues after commit (the email task)."""

    def send(path, body, address="203.0.113.7", raw=None):
        with django_capture_on_commit_callbacks(execute=True):
            return APIClient().post(
                path,
                raw if raw is not None else json.dumps(body),
                content_type="application/json",
                REMOTE_ADDR=address,
            )

    return send


@pytest.fixture
def invite(billing_staff, django_capture_on_commit_callbacks):
    """Staff invite `email` (the admin's service); returns the token from the email sent after commit."""

    def send(email):
        with django_capture_on_commit_callbacks(execute=True):
            signup.partner_invitation_create(email=email, actor=billing_staff)
        return _token(mail.outbox[-1])

    return send


def _token(email) -> str:
    return re.search(r'"token": "([^"]+)"', email.body).group(1)


def _nothing_written():
    return (
        SignupRequest.objects.count() == 0
        and not User.objects.exists()
        and not Organization.objects.exists()
        and mail.outbox == []
    )


def _open_signup(post, email="Dev@Shop.EXAMPLE", name="Shop Example", **kwargs):
    return post(SIGNUP, {"email": email, "password": PASSWORD, "organizationName": name}, **kwargs)


class TestClosed:
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            (SIGNUP, {"email": "dev@shop.example", "password": PASSWORD, "organizationName": "Shop"}),
            (SIGNUP, {"token": "anything", "password": PASSWORD, "organizationName": "Shop"}),
            (VERIFY, {"token": "anything"}),
        ],
    )
    def test_both_endpoints_answer_404_and_change_nothing(self, post, path, body):
        answer = post(path, body)
        assert answer.status_code == 404
        assert answer.json()["error"] == "ResourceNotFound" and "closed" in answer.json()["message"]
        assert _nothing_written()

    def test_the_default_is_closed(self, post):
        from django.conf import settings

        assert settings.PARTNER_SIGNUP == "closed"

    def test_members_invitations_to_an_existing_organization_keep_working(
        self, post, organization, owner, jwt_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invited = jwt_client(owner).post(
                f"/api/organizations/{organization.id}/invitations",
                {"email": "new@acme.example", "role": "viewer"},
                format="json",
            )
        assert invited.status_code == 201
        token = re.search(r"/api/invitations/([^/]+)/accept", mail.outbox[0].body).group(1)
        assert post(f"/api/invitations/{token}/accept", {"password": PASSWORD}).status_code == 200


class TestOpen:
    @pytest.fixture(autouse=True)
    def _open(self, mode):
        mode("open")

    def test_signup_answers_202_and_emails_a_link_the_organization_is_created_only_on_verification(
        self, post
    ):
        answer = _open_signup(post)

        assert answer.status_code == 202
        assert answer.json() == {
            "email": "Dev@shop.example",
            "status": "verification_sent",
            "message": answer.json()["message"],
        }
        assert not User.objects.exists() and not Organization.objects.exists()
        [email] = mail.outbox
        assert email.to == ["Dev@shop.example"] and "Shop Example" in email.subject
        token = _token(email)
        stored = SignupRequest.objects.get()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in json.dumps(list(SignupRequest.objects.values()), default=str)
        assert PASSWORD not in json.dumps(list(SignupRequest.objects.values()), default=str)
        assert stored.password_hash.startswith(("md5$", "pbkdf2_"))

        verified = post(VERIFY, {"token": token})

        assert verified.status_code == 201
        body = verified.json()
        user = User.objects.get()
        assert user.username == user.email == "Dev@shop.example" and user.is_active
        assert user.check_password(PASSWORD)
        organization = Organization.objects.get(pk=body["organizationId"])
        assert organization.name == body["organizationName"] == "Shop Example"
        assert Membership.objects.get(organization=organization, user=user).role == "owner"
        assert body["credits"] == 100 and organization.credits == 100
        assert CreditLedgerEntry.objects.get(organization=organization).kind == "grant"
        stored.refresh_from_db()
        assert stored.used_at is not None and stored.password_hash == "" and stored.user == user
        # Sign in with the email and the password chosen at signup.
        token_answer = APIClient().post(
            "/api/auth/token", {"username": "Dev@shop.example", "password": PASSWORD}, format="json"
        )
        assert token_answer.status_code == 200

    def test_a_token_works_once(self, post):
        _open_signup(post)
        token = _token(mail.outbox[0])
        assert post(VERIFY, {"token": token}).status_code == 201
        again = post(VERIFY, {"token": token})
        assert again.status_code == 404 and again.json()["error"] == "ResourceNotFound"
        assert Organization.objects.count() == 1 and User.objects.count() == 1

    def test_an_expired_token_creates_nothing(self, post):
        _open_signup(post)
        token = _token(mail.outbox[0])
        SignupRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        answer = post(VERIFY, {"token": token})
        assert answer.status_code == 404
        assert not User.objects.exists() and not Organization.objects.exists()

    @pytest.mark.parametrize("token", ["", "forged", "x" * 100])
    def test_unknown_tokens_get_the_same_answer(self, post, token):
        _open_signup(post)
        answer = post(VERIFY, {"token": token})
        assert answer.status_code in (400, 404)
        assert not User.objects.exists()

    def test_an_email_with_an_account_gets_the_same_answer_and_an_email_saying_so(self, post):
        UserFactory(username="someone", email="dev@shop.example")
        existing = _open_signup(post, email="dev@shop.example")
        fresh = _open_signup(post, email="new@shop.example")

        assert existing.status_code == fresh.status_code == 202
        assert set(existing.json()) == set(fresh.json())
        assert existing.json()["message"] == fresh.json()["message"]
        assert existing["Content-Type"] == fresh["Content-Type"]
        told, invited = mail.outbox
        assert told.to == ["dev@shop.example"] and "already" in told.subject + told.body
        assert '"token"' not in told.body
        assert '"token"' in invited.body
        assert User.objects.count() == 1 and not Organization.objects.exists()
        # The request is used up: there is no token to verify it with.
        assert SignupRequest.objects.get(email="dev@shop.example").used_at is not None

    def test_an_account_made_meanwhile_is_a_409_and_the_token_stays_unused(self, post):
        _open_signup(post, email="dev@shop.example")
        token = _token(mail.outbox[0])
        UserFactory(username="dev@shop.example", email="")
        answer = post(VERIFY, {"token": token})
        assert answer.status_code == 409 and answer.json()["error"] == "Conflict"
        assert SignupRequest.objects.get().used_at is None and not Organization.objects.exists()

    def test_a_weak_password_is_refused_at_signup_and_nothing_is_sent(self, post):
        answer = post(SIGNUP, {"email": "dev@shop.example", "password": "password", "organizationName": "S"})
        assert answer.status_code == 400 and "password" in answer.json()["details"]
        assert _nothing_written()

    def test_an_invitation_token_also_signs_up_in_open_mode(self, post, invite):
        token = invite("invited@shop.example")
        answer = post(SIGNUP, {"token": token, "password": PASSWORD, "organizationName": "Invited Shop"})
        assert answer.status_code == 201

    def test_verify_refuses_an_invitations_token(self, post, invite):
        assert post(VERIFY, {"token": invite("invited@shop.example")}).status_code == 404


BAD_BODIES = [
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": "Shop\nBcc: x@evil.example"},
     "organizationName"),
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": "Shop\u202e"},
     "organizationName"),
    ({"email": "dev@shop.example\n", "password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": "a" * 290 + "@shop.example", "password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": "not an email", "password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": 42, "password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": ["dev@shop.example"], "password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": "dev@shop.example", "password": 12345678901, "organizationName": "Shop"}, "password"),
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": {"a": 1}}, "organizationName"),
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": 7}, "organizationName"),
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": "   "}, "organizationName"),
    ({"email": "dev@shop.example", "password": PASSWORD, "organizationName": "x" * 201}, "organizationName"),
    ({"email": "dev@shop.example", "password": PASSWORD}, "organizationName"),
    ({"password": PASSWORD, "organizationName": "Shop"}, "email"),
    ({"email": "dev@shop.example", "token": "t", "password": PASSWORD, "organizationName": "Shop"}, "email"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(post, mode, body, field):
    mode("open")
    answer = post(SIGNUP, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "ValidationError" and answer.json()["code"] == 400
    assert field in answer.json()["details"]
    assert _nothing_written()


@pytest.mark.parametrize(
    "raw", ["[" * 100 + "]" * 100, '{"email": ' + "[" * 200 + "]" * 200 + "}", "[]", '"text"', "{bad json"]
)
def test_malformed_and_deeply_nested_bodies_are_400s(post, mode, raw):
    mode("open")
    for path in (SIGNUP, VERIFY):
        answer = post(path, None, raw=raw)
        assert answer.status_code == 400 and answer.json()["error"] == "ValidationError"
    assert _nothing_written()


@pytest.mark.parametrize("token", [42, ["t"], {"t": 1}, None, "x" * 101, "t\x00"])
def test_verify_refuses_a_token_of_the_wrong_type_or_size(post, mode, token):
    mode("open")
    answer = post(VERIFY, {"token": token})
    assert answer.status_code == 400 and "token" in answer.json()["details"]


class TestInvite:
    @pytest.fixture(autouse=True)
    def _invite(self, mode):
        mode("invite")

    def test_public_signup_is_refused_with_403(self, post):
        answer = _open_signup(post)
        assert answer.status_code == 403 and answer.json()["details"] == {"signup": "invite"}
        assert _nothing_written()

    def test_verify_is_404(self, post):
        assert post(VERIFY, {"token": "anything"}).status_code == 404

    def test_an_invited_partner_signs_up_with_the_token_at_once(
        self, post, billing_staff, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = signup.partner_invitation_create(email="Buyer@Shop.Example", actor=billing_staff)
        [email] = mail.outbox
        assert email.to == ["Buyer@shop.example"] and "/api/auth/signup" in email.body
        token = _token(email)
        assert (
            SignupRequest.objects.get(pk=invitation.pk).token_hash
            == hashlib.sha256(token.encode()).hexdigest()
        )

        answer = post(SIGNUP, {"token": token, "password": PASSWORD, "organizationName": "Buyer Shop"})

        assert answer.status_code == 201
        user = User.objects.get(username="Buyer@shop.example")
        assert user.check_password(PASSWORD) and user.email == "Buyer@shop.example"
        organization = Organization.objects.get(pk=answer.json()["organizationId"])
        assert organization.name == "Buyer Shop" and organization.credits == 100
        assert organization.memberships.get().user == user
        again = post(SIGNUP, {"token": token, "password": PASSWORD, "organizationName": "Twice"})
        assert again.status_code == 404 and Organization.objects.count() == 1

    def test_a_weak_password_leaves_the_invitation_unused(self, post, invite):
        token = invite("buyer@shop.example")
        answer = post(SIGNUP, {"token": token, "password": "short", "organizationName": "Buyer Shop"})
        assert answer.status_code == 400 and "password" in answer.json()["details"]
        assert SignupRequest.objects.get().used_at is None
        assert not User.objects.filter(email="buyer@shop.example").exists()
        assert (
            post(SIGNUP, {"token": token, "password": PASSWORD, "organizationName": "B"}).status_code == 201
        )

    def test_an_expired_invitation_creates_nothing(self, post, invite):
        token = invite("buyer@shop.example")
        SignupRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        answer = post(SIGNUP, {"token": token, "password": PASSWORD, "organizationName": "B"})
        assert answer.status_code == 404
        assert (
            not User.objects.filter(email="buyer@shop.example").exists() and not Organization.objects.exists()
        )

    def test_staff_cannot_invite_an_email_that_has_an_account(self, billing_staff):
        UserFactory(email="taken@shop.example")
        with pytest.raises(Exception, match="already has an account"):
            signup.partner_invitation_create(email="TAKEN@shop.example", actor=billing_staff)

    def test_staff_cannot_invite_while_signup_is_closed(self, mode, billing_staff):
        mode("closed")
        with pytest.raises(Exception, match="closed"):
            signup.partner_invitation_create(email="buyer@shop.example", actor=billing_staff)
        assert SignupRequest.objects.count() == 0


@pytest.mark.redis
class TestRateLimits:
    @pytest.fixture(autouse=True)
    def _open(self, mode, settings):
        mode("open")
        settings.SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR = 3
        settings.SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR = 4

    def test_an_address_gets_its_hourly_limit_then_429_with_retry_after(self, post):
        answers = [_open_signup(post, email=f"dev{n}@shop{n}.example") for n in range(4)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        refused = answers[-1]
        assert refused.json()["error"] == "RateLimitExceeded" and refused.json()["code"] == 429
        assert refused.json()["details"]["limitedBy"] == "address"
        assert 0 < int(refused["Retry-After"]) <= 3600
        assert SignupRequest.objects.count() == 3 and len(mail.outbox) == 3
        # Another address is not held back.
        assert _open_signup(post, email="dev@other.example", address="198.51.100.9").status_code == 202

    def test_an_email_domain_gets_its_hourly_limit_from_any_address(self, post):
        answers = [
            _open_signup(post, email=f"dev{n}@Shop.example", address=f"198.51.100.{n}") for n in range(5)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202, 202, 429]
        assert answers[-1].json()["details"]["limitedBy"] == "domain"
        assert SignupRequest.objects.count() == 4
        assert _open_signup(post, email="dev@elsewhere.example", address="198.51.100.77").status_code == 202

    def test_the_counters_keys_hold_no_address_or_domain_text(self, post):
        from infrastructure.shared_cache import redis_client

        _open_signup(post, email="dev@shop.example")
        keys = [key.decode() for key in redis_client().keys("*signup*")]
        assert keys and not any("shop" in key or "203.0.113" in key for key in keys)

    def test_bad_input_costs_no_turn(self, post):
        for _ in range(5):
            post(SIGNUP, {"email": "dev@shop.example", "password": "x", "organizationName": "S"})
        assert _open_signup(post).status_code == 202


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_verifications_of_one_token_create_one_account_and_organization(settings):
    settings.PARTNER_SIGNUP = "open"
    from config.celery import app

    app.conf.task_always_eager = True
    try:  # committed at once (no test transaction): its email task runs inline
        signup.signup_request_create(
            email="race@shop.example", password=PASSWORD, organization_name="Race Shop"
        )
    finally:
        app.conf.task_always_eager = False
    token = _token(mail.outbox[-1])

    statuses = run_concurrently(
        lambda _: APIClient().post(VERIFY, {"token": token}, format="json").status_code, 20
    )

    assert sorted(statuses) == [201] + [404] * 19
    assert User.objects.filter(username="race@shop.example").count() == 1
    assert Organization.objects.filter(name="Race Shop").count() == 1
    assert CreditLedgerEntry.objects.filter(kind="grant").count() == 1


def test_the_admin_invites_a_partner_and_lists_pending_signups_read_only(
    admin_client, mode, django_capture_on_commit_callbacks
):
    from django.contrib.admin.utils import quote
    from django.urls import reverse

    mode("invite")
    add = reverse("admin:organizations_partnerinvitation_add")
    assert admin_client.get(add).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(add, {"email": "shop@partner.example"})
    assert answer.status_code == 302
    invitation = SignupRequest.objects.get()
    assert invitation.kind == "invitation" and invitation.email == "shop@partner.example"
    [email] = mail.outbox
    assert email.to == ["shop@partner.example"] and invitation.token_hash
    listing = admin_client.get(reverse("admin:organizations_signuprequest_changelist") + "?status=pending")
    assert "shop@partner.example" in listing.content.decode()
    detail = admin_client.get(
        reverse("admin:organizations_signuprequest_change", args=[quote(invitation.pk)])
    )
    assert detail.status_code == 200
    assert (
        invitation.token_hash not in detail.content.decode() and _token(email) not in detail.content.decode()
    )
    assert reverse("admin:organizations_signuprequest_add") not in listing.content.decode()
    UserFactory(email="taken@partner.example")
    refused = admin_client.post(add, {"email": "taken@partner.example"})
    assert refused.status_code == 200 and "already has an account" in refused.content.decode()
    assert SignupRequest.objects.count() == 1
