import logging

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SEED_ERROR_KEYS = {"error", "message", "code", "details"}


def assert_seed_error(response, status, name):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= SEED_ERROR_KEYS
    assert body["error"] == name and body["code"] == status
    assert "Traceback" not in response.content.decode()
    return body


def test_unknown_api_path_is_a_seed_format_404():
    assert_seed_error(APIClient().get("/api/v1/nothing-here"), 404, "ResourceNotFound")


def test_trailing_slash_is_not_redirected():
    response = APIClient().post("/api/organizations/", {}, format="json")
    assert response.status_code == 404  # never a 301 that would turn the seed's POSTs into GETs


def test_wrong_method_is_a_seed_format_405(owner, jwt_client):
    assert_seed_error(jwt_client(owner).put("/api/organizations", {}, format="json"), 405, "MethodNotAllowed")


def test_malformed_json_is_a_validation_error(owner, jwt_client):
    response = jwt_client(owner).post("/api/organizations", "{not json", content_type="application/json")
    body = assert_seed_error(response, 400, "ValidationError")
    assert "body" in body["details"]


def test_field_errors_are_listed_per_field(owner, jwt_client):
    response = jwt_client(owner).post("/api/organizations", {"billingEmail": "nope"}, format="json")
    body = assert_seed_error(response, 400, "ValidationError")
    assert set(body["details"]) == {"name", "billingEmail"}


def test_bad_token_is_a_seed_format_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    body = assert_seed_error(client.get("/api/organizations/org_x"), 401, "InvalidToken")
    assert body["message"].startswith("The access token is invalid.")


def test_bad_pagination_is_a_validation_error(organization, owner, jwt_client):
    for query in ("limit=0", "limit=101", "limit=abc", "offset=-1"):
        response = jwt_client(owner).get(f"/api/organizations/{organization.id}/credits?{query}")
        assert_seed_error(response, 400, "ValidationError")


@pytest.mark.urls("tests.config.error_urls")
def test_unexpected_error_in_a_view_is_a_500_without_internals(caplog):
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/test/explode")
    body = assert_seed_error(response, 500, "InternalError")
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in response.content.decode()
    assert body["requestId"] == response["X-Request-Id"]


@pytest.mark.urls("tests.config.error_urls")
def test_django_level_500_under_api_is_seed_format():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/test/explode-django")
    assert_seed_error(response, 500, "InternalError")
    assert "gx_live_" not in response.content.decode()


def test_every_response_carries_a_request_id():
    response = APIClient().get("/health")
    assert response["X-Request-Id"].startswith("req_")


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced():
    client = APIClient()
    assert client.get("/health", HTTP_X_REQUEST_ID="shop-abc-12345")["X-Request-Id"] == "shop-abc-12345"
    replaced = client.get("/health", HTTP_X_REQUEST_ID="bad\nheader value <script>")["X-Request-Id"]
    assert replaced.startswith("req_")


def test_nul_characters_in_the_query_are_a_validation_error(organization, owner, jwt_client):
    response = jwt_client(owner).get(f"/api/organizations/{organization.id}/credits?cartId=a%00b")
    assert_seed_error(response, 400, "ValidationError")


def test_absurd_offsets_are_a_validation_error(organization, owner, jwt_client):
    response = jwt_client(owner).get(
        f"/api/organizations/{organization.id}/credits?offset=1152921504606846976"
    )
    assert_seed_error(response, 400, "ValidationError")


def test_a_csrf_refusal_is_json_outside_the_admin_and_the_admins_page_inside(rf):
    from api.errors import csrf_failure

    outside = csrf_failure(rf.post("/health"), reason="CSRF cookie not set.")
    assert outside.status_code == 403 and outside["Content-Type"] == "application/json"
    inside = csrf_failure(rf.post("/admin/login/"), reason="CSRF cookie not set.")
    assert inside.status_code == 403 and inside["Content-Type"].startswith("text/html")


def test_an_expired_access_token_says_so_and_how_to_get_a_new_one(owner):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(owner)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = assert_seed_error(client.get("/api/organizations"), 401, "InvalidToken")
    assert body["message"].startswith("The access token has expired.")
    assert body["details"] == {"token": "access", "reason": "expired"}
