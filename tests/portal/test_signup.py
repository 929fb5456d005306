"""Signing up from the portal, as PARTNER_SIGNUP allows: the open form, its email's verification page (a
button, never a GET), and the page a partner invitation's email opens; closed shows why, changes nothing."""

import re

import pytest
from django.core import mail
from django.test import Client

from organizations.models import Membership, Organization, SignupRequest
from organizations.services import signup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]  # signup emails are tasks

PASSPHRASE = "a long and fine passphrase"


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST a portal form as an anonymous browser, running the email task queued after commit."""

    def post(client, path, form):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, form, REMOTE_ADDR="203.0.113.9")

    return post


def _form(**overrides):
    return {
        "email": "founder@newshop.example",
        "organizationName": "New Shop",
        "password": PASSPHRASE,
        "password_again": PASSPHRASE,
        **overrides,
    }


def _page(pattern: str) -> str:
    return re.search(r"https?://[^/\s]+(" + pattern + r")", mail.outbox[-1].body).group(1)


def test_closed_signup_shows_why_and_creates_nothing(settings, send):
    settings.PARTNER_SIGNUP = "closed"
    client = Client()
    assert client.get("/portal/signup/").status_code == 404
    assert send(client, "/portal/signup/", _form()).status_code == 404
    assert client.post("/portal/signup/verify/anything/").status_code == 404
    assert send(client, "/portal/signup/invitation/anything/", _form()).status_code == 404
    assert not SignupRequest.objects.exists() and mail.outbox == []
    assert "Create your organization" not in client.get("/portal/login/").content.decode()


def test_open_signup_verifies_the_email_with_a_button_then_signs_the_founder_in(settings, send):
    settings.PARTNER_SIGNUP = "open"
    client = Client()
    assert "Create your organization" in client.get("/portal/login/").content.decode()
    sent = send(client, "/portal/signup/", _form())
    assert sent.status_code == 200 and "founder@newshop.example" in sent.content.decode()
    assert not Organization.objects.filter(name="New Shop").exists()
    page = _page(r"/portal/signup/verify/[^/\s]+/")
    visitor = Client()
    assert visitor.get(page).status_code == 200
    assert not Organization.objects.filter(name="New Shop").exists()  # opening the link creates nothing
    created = visitor.post(page)
    assert created["Location"] == "/portal/"
    overview = visitor.get("/portal/").content.decode()
    assert "New Shop" in overview and "100.00" in overview
    assert Membership.objects.get(user__username="founder@newshop.example").role == "owner"
    again = Client().post(page)
    assert again.status_code == 200 and "already used" in again.content.decode()
    assert Organization.objects.filter(name="New Shop").count() == 1


def test_open_signup_refuses_what_the_api_refuses(settings, send):
    settings.PARTNER_SIGNUP = "open"
    for form, why in [
        (_form(password_again="other"), "differ"),
        (_form(password="123", password_again="123"), "stronger"),
        (_form(email="not-an-email"), "email"),
        (_form(organizationName="Bad\nName"), "organizationName"),
        (_form(organizationName="x" * 300), "organizationName"),
    ]:
        answer = send(Client(), "/portal/signup/", form)
        assert answer.status_code == 200 and why in answer.content.decode(), why
    assert not SignupRequest.objects.exists() and mail.outbox == []


def test_open_signup_is_limited_per_address_like_the_api(settings, send):
    settings.PARTNER_SIGNUP = "open"
    settings.SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR = 2
    client = Client()
    for n in range(2):
        send(client, "/portal/signup/", _form(email=f"f{n}@shop{n}.example"))
    refused = send(client, "/portal/signup/", _form(email="f9@shop9.example"))
    assert "Too many signup requests" in refused.content.decode()
    assert SignupRequest.objects.count() == 2


def test_invite_mode_takes_no_open_signup_but_the_invitation_page_creates_and_signs_in(
    settings, send, billing_staff, django_capture_on_commit_callbacks
):
    settings.PARTNER_SIGNUP = "invite"
    assert send(Client(), "/portal/signup/", _form()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        signup.partner_invitation_create(email="partner@bigshop.example", actor=billing_staff)
    page = _page(r"/portal/signup/invitation/[^/\s]+/")
    visitor = Client()
    assert visitor.get(page).status_code == 200
    weak = send(visitor, page, _form(password="123", password_again="123", organizationName="Big Shop"))
    assert "stronger" in weak.content.decode() and not Organization.objects.filter(name="Big Shop").exists()
    created = send(visitor, page, _form(organizationName="Big Shop"))
    assert created["Location"] == "/portal/"
    assert "Big Shop" in visitor.get("/portal/").content.decode()
    assert Membership.objects.get(user__username="partner@bigshop.example").organization.name == "Big Shop"
    used = send(Client(), page, _form(organizationName="Another"))
    assert "already used" in used.content.decode()


def test_a_forged_or_odd_token_creates_nothing(settings, send):
    settings.PARTNER_SIGNUP = "open"
    for token in ("nope", "x" * 100, "%E2%80%AE"):
        refused = Client().post(f"/portal/signup/verify/{token}/").content.decode()
        assert "already used" in refused or "token" in refused
        answer = send(Client(), f"/portal/signup/invitation/{token}/", _form())
        assert answer.status_code == 200
    assert not Organization.objects.filter(name="New Shop").exists()
