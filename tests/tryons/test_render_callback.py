"""The render callback: live only with an asynchronous renderer, and no body is read from a caller before
its signature header is well formed and fresh and its declared size within the cap."""

import io
import json
import time

import pytest
from django.test import Client

from tests.tryons.test_renderers import CALLBACK_URL, SECRET
from tryons.models import TryOn
from tryons.signing import HEADER, callback_signature

pytestmark = pytest.mark.django_db


class CountingInput(io.BytesIO):
    """The request body as the WSGI server hands it over, counting what the application reads of it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.fixture
def eventbridge(settings):
    settings.TRYON_RENDERER = "eventbridge"
    settings.EVENTBRIDGE_BUS_NAME = "garmax-renders"
    settings.TRYON_CALLBACK_SECRET = SECRET


def send(body: bytes, signature: str | None):
    """POST `body` to the callback; returns (response, how many body bytes the application read)."""
    stream = CountingInput(body)
    headers = {HEADER: signature} if signature is not None else {}
    response = Client().generic(
        "POST",
        CALLBACK_URL,
        headers=headers,
        **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"},
    )
    return response, stream.bytes_read


def failed_callback(tryon_id="tryon_x", job_id="tryon_x.1") -> bytes:
    return json.dumps({"tryonId": tryon_id, "jobId": job_id, "status": "failed", "error": "x"}).encode()


def test_callback_is_not_found_when_no_asynchronous_renderer_is_configured(settings):
    settings.TRYON_RENDERER = "local"
    settings.TRYON_CALLBACK_SECRET = SECRET  # even a correctly signed callback
    body = failed_callback()

    response, read = send(body, callback_signature(secret=SECRET, body=body))

    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"
    assert read == 0


# A body well under the old 40 MB read-before-check limit.
BIG = b'{"pad":"' + b"x" * (12 * 1024 * 1024) + b'"}'


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=abc,v1=00",
        f"t={int(time.time())},v1=not-hex",
        callback_signature(secret=SECRET, body=BIG, timestamp=int(time.time()) - 3600),  # stale
    ],
    ids=["missing", "empty", "malformed", "bad-digest", "stale"],
)
def test_callback_without_a_fresh_well_formed_signature_is_refused_unread(eventbridge, signature):
    response, read = send(BIG, signature)

    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert read == 0


def test_callback_declaring_more_than_the_cap_is_refused_unread(eventbridge, settings):
    body = b'{"pad":"' + b"x" * settings.TRYON_CALLBACK_MAX_BYTES + b'"}'

    response, read = send(body, callback_signature(secret=SECRET, body=body))

    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert read == 0


def test_callback_with_a_fresh_header_but_wrong_digest_is_refused_after_reading(eventbridge):
    body = failed_callback()
    forged = callback_signature(secret="not-the-secret", body=body)

    response, read = send(body, forged)

    assert response.status_code == 401
    assert read == len(body)
    assert not TryOn.objects.exists()
