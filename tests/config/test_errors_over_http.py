"""The error surface from the attacker's side of the wire: the README's production command, over HTTP only.

Every answer is JSON in the seed's format (the admin's own pages aside), token refusals are sentences, and a
500 leaves exactly one log line naming its request id and route template, never the path or query it came on.
"""

import json
import time
from datetime import timedelta

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.concurrency import wait_until
from tests.factories import UserFactory
from tests.live_service import live_service  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SEED_ERROR_KEYS = {"error", "message", "code", "details"}
PERSONAL = "shopper.jones@example.com"


def seed_error(response, status: int, name: str) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert set(body) >= SEED_ERROR_KEYS and body["error"] == name and body["code"] == status, body
    return body


def assert_human(message: str) -> None:
    for python_repr in ("ErrorDetail", "{'", "token_not_valid", "[{"):
        assert python_repr not in message, message
    assert message.endswith("."), message


# --- item 9: JWT refusals are sentences -------------------------------------------------------------------


def test_a_garbled_or_expired_access_token_is_a_sentence_not_a_python_repr(live_service, transactional_db):  # noqa: F811
    user = UserFactory()
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(minutes=1))
    for token, reason in (("abc.def.ghi", "invalid"), ("not-a-jwt", "invalid"), (str(expired), "expired")):
        response = requests.get(
            live_service.url("/api/organizations"), headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        body = seed_error(response, 401, "InvalidToken")
        assert_human(body["message"])
        assert body["details"] == {"token": "access", "reason": reason}
        assert ("expired" in body["message"]) == (reason == "expired")


def test_a_garbled_or_expired_refresh_token_is_a_sentence_not_a_python_repr(live_service, transactional_db):  # noqa: F811
    user = UserFactory()
    expired = RefreshToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(minutes=1))
    for token, reason in (("abc", "invalid"), (str(expired), "expired")):
        response = requests.post(
            live_service.url("/api/auth/token/refresh"), json={"refresh": token}, timeout=10
        )
        body = seed_error(response, 401, "InvalidToken")
        assert_human(body["message"])
        assert body["details"] == {"token": "refresh", "reason": reason}


def test_the_token_endpoints_document_their_401(live_service, transactional_db):  # noqa: F811
    schema = requests.get(live_service.url("/api/schema?format=json"), timeout=30).json()
    for path in ("/api/auth/token", "/api/auth/token/refresh"):
        refused = schema["paths"][path]["post"]["responses"].get("401")
        assert refused is not None, path
        assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert (
        "InvalidToken"
        in schema["paths"]["/api/auth/token/refresh"]["post"]["responses"]["401"]["description"]
    )


# --- item 15: every answer is JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "name"),
    [
        ("POST", "/health", 405, "MethodNotAllowed"),
        ("DELETE", "/health/ready", 405, "MethodNotAllowed"),
        ("GET", "/nope", 404, "ResourceNotFound"),
        ("GET", "/favicon.ico", 404, "ResourceNotFound"),
        ("GET", "/media/signed/x", 404, "ResourceNotFound"),
        ("GET", "/media/signed/x?expires=99999999999&signature=forged", 404, "ResourceNotFound"),
        ("POST", "/media/signed/x", 405, "MethodNotAllowed"),
        ("GET", "/static/drf_spectacular_sidecar/nope.js", 404, "ResourceNotFound"),
        ("PUT", "/metrics", 403, "Forbidden"),  # refused by CSRF (CSRF_FAILURE_VIEW) before the view
    ],
)
def test_errors_outside_the_api_are_json_in_the_seed_format(
    live_service,  # noqa: F811
    transactional_db,
    method,
    path,
    status,
    name,
):
    response = requests.request(method, live_service.url(path), timeout=10)
    body = seed_error(response, status, name)
    assert body["requestId"] == response.headers["X-Request-Id"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_the_admins_own_csrf_page_stays_html(live_service, transactional_db):  # noqa: F811
    admin = requests.post(live_service.url("/admin/login/"), data={"username": "x"}, timeout=10)
    assert admin.status_code == 403 and admin.headers["Content-Type"].startswith("text/html")


# --- items 13 and 19: a 500 is one log line, with its request id and route, and nothing personal -----------


@pytest.fixture(scope="module", params=["text", "json"])
def failing_service(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """The production command with tests.config.error_urls mounted (views that fail on purpose)."""
    from tests.live_service import LiveService

    service = LiveService(
        tmp_path_factory.mktemp(f"failing-{request.param}"),
        env={"DJANGO_SETTINGS_MODULE": "tests.config.failing_settings", "LOG_FORMAT": request.param},
    ).start()
    service.format = request.param
    yield service
    service.stop()


def _lines_after(service, offset: int) -> list[str]:
    return [line for line in service.log_text()[offset:].splitlines() if line.strip()]


def _wait_for_log(service, offset: int, request_id: str) -> list[str]:
    wait_until(lambda: request_id in service.log_text()[offset:], timeout=10, interval=0.1)
    time.sleep(0.5)  # anything else logged for this request arrives by now
    return _lines_after(service, offset)


@pytest.mark.parametrize("path", ["/api/test/customers/{}/explode", "/api/test/explode-django"])
def test_a_500_is_one_log_line_with_its_request_id_and_route_and_no_path_or_query(
    failing_service, transactional_db, path
):
    offset = len(failing_service.log_text())
    url = failing_service.url(path.format(PERSONAL) + f"?email={PERSONAL}&q=secret-search")
    response = requests.get(url, timeout=10)
    body = seed_error(response, 500, "InternalError")
    request_id = body["requestId"]
    lines = _wait_for_log(failing_service, offset, request_id)
    output = "\n".join(lines)
    assert PERSONAL not in output and "secret-search" not in output, output
    assert "WSGIRequest" not in output
    if failing_service.format == "json":
        records = [json.loads(line) for line in lines]
        errors = [r for r in records if r["level"] in ("WARNING", "ERROR", "CRITICAL")]
        assert len(errors) == 1, errors
        (error,) = errors
        assert error["request_id"] == request_id and error["status"] == 500
        assert error["route"] == (
            "/api/test/customers/{externalId}/explode" if "customers" in path else "/api/test/explode-django"
        )
    else:
        headlines = [line for line in lines if " ERROR " in line or " WARNING " in line]
        assert len(headlines) == 1, headlines
        assert f"[{request_id}]" in headlines[0] and "GET /api/test/" in headlines[0]
