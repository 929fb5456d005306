"""Signing in to the portal: Django's sign-in limited on failures like the API, the TOTP second factor,
password reset, sign-out, and the pages it guards."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.celery import app as celery_app
from organizations import login_attempts
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _unthrottle(device: TOTPDevice) -> None:
    """django-otp slows guesses down after a wrong code; the tests' next right code is tried at once."""
    device.refresh_from_db()
    device.throttle_reset()


def _code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def test_a_visitor_is_sent_to_the_sign_in_page_and_back_to_where_they_were(organization, owner):
    response = Client().get("/portal/team/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/team/"
    client = Client()
    signed_in = client.post(
        "/portal/login/", {"username": owner.username, "password": PASSWORD, "next": "/portal/team/"}
    )
    assert signed_in["Location"] == "/portal/team/"
    assert client.get("/portal/team/").status_code == 200


def test_sign_in_never_redirects_off_the_portal(organization, owner):
    for target in ("https://evil.example/", "//evil.example/", "/admin/", "/api/v1/account"):
        response = Client().post(
            "/portal/login/", {"username": owner.username, "password": PASSWORD, "next": target}
        )
        assert response["Location"] == "/portal/", target


def test_wrong_passwords_are_counted_and_lock_the_username_as_the_api_does(organization, owner):
    client = Client()
    for _ in range(login_attempts.USERNAME_MAX_FAILURES):
        refused = client.post("/portal/login/", {"username": owner.username, "password": "wrong"})
        assert refused.status_code == 200
    locked = client.post("/portal/login/", {"username": owner.username, "password": PASSWORD})
    assert locked.status_code == 200
    assert (
        "Too many failed sign-ins" in locked.content.decode() or "locked" in locked.content.decode().lower()
    )
    assert "_auth_user_id" not in client.session


def test_a_member_without_an_organization_sees_why(db):
    loner = UserFactory()
    client = Client()
    client.post("/portal/login/", {"username": loner.username, "password": PASSWORD})
    response = client.get("/portal/")
    assert response.status_code == 403
    assert "not a member of any organization" in response.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(organization, owner, portal_client):
    client = portal_client(owner)
    assert client.post("/portal/logout/").status_code == 302
    assert client.get("/portal/").status_code == 302


def test_password_reset_emails_a_link_once_a_minute_that_sets_a_new_password(
    organization, owner, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.PUBLIC_BASE_URL = "https://portal.example"
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)  # the worker's email task, run here
    client = Client()
    for attempt in range(3):
        with django_capture_on_commit_callbacks() as queued:
            sent = client.post("/portal/password-reset/", {"email": owner.email})
        assert sent["Location"] == "/portal/password-reset/sent/"
        assert len(mail.outbox) == (0 if attempt == 0 else 1)  # the request itself sends nothing
        for callback in queued:
            callback()  # after commit: the worker's email task (eager here)
        assert len(mail.outbox) == 1  # one email, however often the form is sent within the minute
    link = re.search(r"https://portal\.example(/portal/password-reset/\S+/\S+/)", mail.outbox[0].body).group(
        1
    )
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert done["Location"] == "/portal/password-reset/done/"
    owner.refresh_from_db()
    assert owner.check_password("a brand new passphrase")
    assert Client().post("/portal/password-reset/", {"email": "nobody@example.com"}).status_code == 302


def test_a_member_enrols_totp_and_then_every_sign_in_asks_for_a_code(organization, owner, portal_client):
    client = portal_client(owner)
    client.post("/portal/security/", {"action": "start"})
    page = client.get("/portal/security/").content.decode()
    assert "<svg" in page and "totp-secret" in page
    device = TOTPDevice.objects.get(user=owner)
    assert not device.confirmed
    wrong = client.post("/portal/security/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    _unthrottle(device)
    client.post("/portal/security/", {"action": "confirm", "code": _code(device)})
    device.refresh_from_db()
    assert device.confirmed

    fresh = Client()
    step = fresh.post(
        "/portal/login/", {"username": owner.username, "password": PASSWORD, "next": "/portal/team/"}
    )
    assert step["Location"].startswith("/portal/login/code/")
    assert fresh.get("/portal/team/").status_code == 302  # not signed in until the code
    assert fresh.post("/portal/login/code/", {"code": "123456", "next": "/portal/team/"}).status_code == 200
    _unthrottle(device)
    signed = fresh.post("/portal/login/code/", {"code": _code(device, offset=1), "next": "/portal/team/"})
    assert signed["Location"] == "/portal/team/"
    assert fresh.get("/portal/team/").status_code == 200


def test_a_session_signed_in_by_the_admin_still_needs_the_code_for_the_portal(organization, owner):
    device = TOTPDevice.objects.create(user=owner, name="app", confirmed=True)
    client = Client()
    client.force_login(owner)  # as the staff admin's sign-in would
    response = client.get("/portal/")
    assert response["Location"].startswith("/portal/login/code/")
    assert client.post("/portal/login/code/", {"code": _code(device)})["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_turning_totp_off_needs_the_password(organization, owner):
    device = TOTPDevice.objects.create(user=owner, name="app", confirmed=True)
    client = Client()
    client.force_login(owner)
    client.post("/portal/login/code/", {"code": _code(device)})
    client.post("/portal/security/", {"action": "remove", "password": "wrong"})
    assert TOTPDevice.objects.filter(user=owner).exists()
    client.post("/portal/security/", {"action": "remove", "password": PASSWORD})
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_the_code_step_expires_and_needs_the_password_step_first(organization, owner):
    TOTPDevice.objects.create(user=owner, name="app", confirmed=True)
    response = Client().get("/portal/login/code/")
    assert response["Location"].startswith("/portal/login/")
