"""Sessions, CSRF, the session user and messages run for the admin's browsers, not for partner requests."""

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client

from customers.services import customer_upsert

pytestmark = pytest.mark.django_db


def test_partner_requests_skip_the_browser_middleware(organization, partner_client, monkeypatch):
    customer_upsert(organization_id=organization.id, external_id="shopper")
    touched = []
    for django_class in (SessionMiddleware, CsrfViewMiddleware, AuthenticationMiddleware, MessageMiddleware):
        monkeypatch.setattr(
            django_class, "process_request", lambda self, request, c=django_class: touched.append(c.__name__)
        )

    response = partner_client(organization).get("/api/v1/customers/shopper")

    assert response.status_code == 200
    assert touched == []
    assert not response.cookies and "Cookie" not in response.get("Vary", "")


def test_partner_posts_need_no_csrf_token(organization, partner_client):
    client = partner_client(organization)
    client.handler.enforce_csrf_checks = True

    response = client.post("/api/v1/customers", {"externalId": "shopper"}, format="json")

    assert response.status_code == 201


def test_the_admin_still_has_sessions_csrf_and_messages(admin_user):
    browser = Client(enforce_csrf_checks=True)
    login_page = browser.get("/admin/login/")
    token = login_page.cookies["csrftoken"].value

    refused = browser.post("/admin/login/", {"username": "admin", "password": "password"})
    assert refused.status_code == 403  # CSRF is enforced outside /api/v1

    logged_in = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "password", "csrfmiddlewaretoken": token},
    )
    assert logged_in.status_code == 302 and "sessionid" in logged_in.cookies
    assert browser.get("/admin/").status_code == 200
