import logging

from config.logging import RedactSecretsFilter, RequestIdFilter, redact
from config.request_context import reset_request_id, set_request_id


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
