import logging

from api.request_context import reset_request_id, set_request_id
from infrastructure.logging import RedactSecretsFilter, RequestIdFilter, redact


def test_secrets_are_redacted_from_messages():
    text = redact(
        "key gx_live_abcdEFGH1234567890abcdEFGH1234567890abcd secret whsec_c2VjcmV0 "
        'Authorization: Bearer eyJhbGciOi.payload.sig {"password": "hunter2"}'
    )
    for secret in ("abcdEFGH1234567890", "c2VjcmV0", "eyJhbGciOi", "hunter2"):
        assert secret not in text


def test_log_records_carry_the_request_id_and_no_secrets():
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "using %s", ("gx_live_abcdefgh12345678",), None
    )
    token = set_request_id("req_123")
    try:
        RequestIdFilter().filter(record)
        RedactSecretsFilter().filter(record)
    finally:
        reset_request_id(token)
    assert record.request_id == "req_123"
    assert "abcdefgh12345678" not in record.getMessage()


def test_exception_text_is_redacted():
    try:
        raise RuntimeError("token=abc123secret")
    except RuntimeError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactSecretsFilter().filter(record)
    assert "abc123secret" not in (record.exc_text or "")
    assert "RuntimeError" in record.exc_text


def test_djangos_request_records_name_the_route_and_request_id_never_the_path_or_query(rf):
    from django.urls import resolve

    from infrastructure.logging import DjangoRequestFilter, JsonLinesFormatter

    request = rf.get("/api/v1/customers/jane@example.com/photos?q=jane@example.com")
    request.resolver_match = resolve("/api/v1/customers/jane@example.com/photos")
    request.request_id = "req_abc"
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "%s: %s", ("Internal Server Error", request.path), None
    )
    record.status_code, record.request = 500, request

    DjangoRequestFilter().filter(record)
    RequestIdFilter().filter(record)
    line = JsonLinesFormatter().format(record)

    assert "jane" not in line and "WSGIRequest" not in line
    assert record.getMessage() == "Internal Server Error: GET /api/v1/customers/{externalId}/photos"
    assert record.request_id == "req_abc" and record.status == 500


def test_a_refused_outbound_host_is_not_logged_at_the_default_levels():
    """requests-hardened warns "Forbidden IP address: … for hostname <partner's host>"; that host is
    partner-written, so its logger speaks only past WARNING in every format of ours."""
    from config.logging_settings import logging_settings

    for json_lines in (False, True):
        loggers = logging_settings(level="DEBUG", json_lines=json_lines)["loggers"]
        assert logging.getLevelName(loggers["requests_hardened"]["level"]) > logging.WARNING
    assert logging.getLogger("requests_hardened.ip_filter").getEffectiveLevel() > logging.WARNING
