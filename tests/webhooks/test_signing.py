import json
import shutil
import subprocess
from decimal import Decimal

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks import signing

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

# Seed 001's verification function, verbatim, behind express.json()'s parse of the raw body.
SEED_SNIPPET = r"""
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(JSON.stringify(payload))
    .digest('hex');

  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedSignature)
  );
}

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const results = input.map(({body, signature, secret}) => {
  const raw = Buffer.from(body, 'base64').toString('utf8');
  const parsed = JSON.parse(raw);  // what express.json() hands the route as req.body
  return {
    valid: verifyWebhookSignature(parsed, signature, secret),
    restringified: JSON.stringify(parsed) === raw,
  };
});
process.stdout.write(JSON.stringify(results));
"""

AWKWARD_PAYLOADS = [
    {"id": "evt_1", "event": "cart_tryon.completed", "data": {"count": 2, "ratio": 1.0, "price": 2.5}},
    {"big": 1e21, "small": 1e-7, "tiny": 0.000001, "huge_int": 2**60, "neg": -0.0, "exp": 1.5e300},
    {"text": 'Grüße 👗 \u2028 \u0001 \x7f "quoted" \\ / \t\n', "lone": "\ud800x"},
    {"b": 1, "2": "two", "a": 3, "10": "ten", "01": "not an index", "-1": "neither"},
    {"decimal": Decimal("4.50"), "nested": [[], {}, [1, [2.25, None, True, False]]]},
    {"float_int": 100.0, "e16": 1e16, "third": 1 / 3, "max": 1.7976931348623157e308},
]


def _node(items):
    completed = subprocess.run(
        [NODE, "-e", SEED_SNIPPET], input=json.dumps(items), capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


@needs_node
def test_node_reproduces_our_body_byte_for_byte_and_accepts_the_hex_signature():
    import base64

    secret = signing.secret_generate()
    items = []
    for payload in AWKWARD_PAYLOADS:
        body = signing.body_bytes(payload)
        items.append(
            {
                "body": base64.b64encode(body).decode(),
                "signature": signing.signature_hex(secret=secret, body=body),
                "secret": secret,
            }
        )
    assert _node(items) == [{"valid": True, "restringified": True}] * len(AWKWARD_PAYLOADS)


def test_body_is_compact_and_prints_numbers_the_javascript_way():
    body = signing.encode_json({"a": 1.0, "b": [1e21, 1e-7, 0.5], "c": "é"})
    assert body == '{"a":1,"b":[1e+21,1e-7,0.5],"c":"é"}'


def test_integer_like_keys_come_first_as_in_javascript():
    assert signing.encode_json({"b": 1, "2": 2, "1": 1}) == '{"1":1,"2":2,"b":1}'


def test_nan_is_refused():
    with pytest.raises(ValueError):
        signing.encode_json({"x": float("nan")})


def test_standard_webhooks_library_verifies_every_active_secret():
    body = signing.body_bytes({"id": "evt_x", "event": "tryon.completed", "data": {"n": 1.0}})
    new, old = signing.secret_generate(), signing.secret_generate()
    import time

    timestamp = int(time.time())
    header = signing.signature_standard(
        secrets_in_use=[new, old], message_id="evt_x", timestamp=timestamp, body=body
    )
    headers = {"webhook-id": "evt_x", "webhook-timestamp": str(timestamp), "webhook-signature": header}
    assert len(header.split(" ")) == 2
    for secret in (new, old):
        assert StandardWebhook(secret).verify(body, headers) == json.loads(body)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        StandardWebhook(signing.secret_generate()).verify(body, headers)


def test_secret_is_whsec_and_at_least_24_random_bytes():
    import base64

    secret = signing.secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert secret != signing.secret_generate()
