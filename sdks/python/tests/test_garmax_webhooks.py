"""Webhook verification on the raw body, both signatures, mid-rotation. The vectors below were signed by the
service's own signing code (webhooks/signing.py) during a rotation: the new secret and the previous one."""

import pytest

import garmax
from garmax import webhooks

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
PREVIOUS = "whsec_cHJldmlvdXMtc2VjcmV0LXByZXZpb3VzLXNlY3JldCE="
BODY = (
    b'{"id":"evt_1","event":"cart_tryon.completed","timestamp":"2025-12-11T10:05:00Z",'
    b'"data":{"sessionId":"cts_1","price":29.99,"n":2}}'
)
TIMESTAMP = 1765447500
HEADERS = {
    "Content-Type": "application/json",
    "X-Webhook-Signature": "e6302d78cebae84ab914faa6d86ce5c4db9ac519e993f9d27d0d23704531f163",
    "X-Webhook-Signature-Previous": "b54873f3223e6225946720ce0bb419427a2e4e762910ff1cf4ea01b6b719de73",
    "webhook-id": "evt_1",
    "webhook-timestamp": str(TIMESTAMP),
    "webhook-signature": "v1,fcfHthgtLN8638Pe+84gPjRShLW1TGdIaY1FVCXp7ao= v1,sf8626SWb4hW877wBLD3h0NPsibhrdVLteEOgRcbXXY=",
}


@pytest.mark.parametrize("secret", [SECRET, PREVIOUS, [SECRET, PREVIOUS], [PREVIOUS, SECRET]])
def test_the_hex_signature_verifies_with_the_new_or_the_previous_secret(secret):
    event = webhooks.verify_hex(BODY, HEADERS, secret)
    assert event["data"] == {"sessionId": "cts_1", "price": 29.99, "n": 2}


@pytest.mark.parametrize("secret", [SECRET, PREVIOUS, [PREVIOUS, SECRET]])
def test_the_standard_signature_verifies_with_either_secret_in_the_window(secret):
    event = webhooks.verify_standard(BODY, HEADERS, secret, now=TIMESTAMP + 299)
    assert event["id"] == "evt_1"


def test_header_names_are_case_insensitive_and_a_str_body_works():
    lowered = {key.lower(): value for key, value in HEADERS.items() if not key.startswith("webhook")}
    assert webhooks.verify_hex(BODY.decode(), lowered, SECRET)["event"] == "cart_tryon.completed"


def test_a_stale_or_future_timestamp_is_a_replay():
    for now in (TIMESTAMP + 301, TIMESTAMP - 301):
        with pytest.raises(garmax.WebhookVerificationError, match="tolerance"):
            webhooks.verify_standard(BODY, HEADERS, SECRET, now=now)


@pytest.mark.parametrize("verify", [webhooks.verify_hex, webhooks.verify_standard])
def test_a_changed_body_or_another_secret_fails(verify):
    kwargs = {"now": TIMESTAMP} if verify is webhooks.verify_standard else {}
    with pytest.raises(garmax.WebhookVerificationError):
        verify(BODY.replace(b"29.99", b"0.01"), HEADERS, SECRET, **kwargs)
    other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlciE="
    with pytest.raises(garmax.WebhookVerificationError):
        verify(BODY, HEADERS, other, **kwargs)


def test_reserialized_json_is_refused_for_what_it_is():
    with pytest.raises(TypeError, match="raw request body"):
        webhooks.verify_hex({"id": "evt_1"}, HEADERS, SECRET)


def test_missing_headers_are_named():
    with pytest.raises(garmax.WebhookVerificationError, match="X-Webhook-Signature"):
        webhooks.verify_hex(BODY, {}, SECRET)
    with pytest.raises(garmax.WebhookVerificationError, match="webhook-id"):
        webhooks.verify_standard(BODY, {"webhook-signature": "v1,x"}, SECRET)


def test_construct_event_prefers_the_standard_headers_and_falls_back_to_hex():
    hex_only = {key: value for key, value in HEADERS.items() if not key.startswith("webhook")}
    assert webhooks.construct_event(BODY, hex_only, SECRET)["id"] == "evt_1"
    with pytest.raises(garmax.WebhookVerificationError, match="tolerance"):
        webhooks.construct_event(BODY, HEADERS, SECRET)  # the vector's timestamp is long past


def test_signing_helpers_agree_with_the_standard_webhooks_library():
    standardwebhooks = pytest.importorskip("standardwebhooks")
    import time

    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": webhooks.sign_standard(BODY, SECRET, message_id="msg_1", timestamp=now),
    }
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers)["id"] == "evt_1"
    assert webhooks.verify_standard(BODY, headers, SECRET)["id"] == "evt_1"
    assert webhooks.sign_hex(BODY, SECRET) == HEADERS["X-Webhook-Signature"]
