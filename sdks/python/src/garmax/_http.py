"""One request to the API, retried when retrying is safe: the standard library's HTTP client only.

Every POST carries an `Idempotency-Key` (generated once per call and reused by its retries), so a POST is
retried like a GET: on network errors, on the 409 the API answers while the first attempt with that key is
still running, on 429 after its `Retry-After`, and on 5xx, with exponential backoff and jitter, a bounded
number of times.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from . import errors
from .version import __version__

RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 8.0
# A Retry-After beyond this is not waited out inside a call: the 429 is raised and the caller decides.
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class Upload:
    """A file for a multipart field."""

    field: str
    filename: str
    content: bytes
    content_type: str


def multipart_encode(fields: dict[str, str], files: list[Upload]) -> tuple[bytes, str]:
    """The body and Content-Type of a multipart/form-data request (built once per call)."""
    boundary = "garmax-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode()
        )
    for upload in files:
        filename = upload.filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        disposition = f'form-data; name="{upload.field}"; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        head += f"Content-Type: {upload.content_type}\r\n\r\n"
        parts.append(head.encode() + upload.content)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Transport:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        version: str | None,
        timeout: float,
        max_retries: int,
        sleep=time.sleep,
    ):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.timeout = timeout
        self.max_retries = max_retries
        self._sleep = sleep

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = self.base_url + path
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        multipart: tuple[dict[str, str], list[Upload]] | None = None,
        idempotency_key: str | None = None,
        if_none_match: str | None = None,
        answer: dict | None = None,
    ) -> Any:
        """The decoded JSON answer (None for an empty one); an APIError or APIConnectionError otherwise.
        `if_none_match` makes a GET conditional (a 304 returns None); `answer` gets its status and ETag."""
        headers = {
            "X-API-Key": self.api_key,
            "Accept": "application/json",
            "User-Agent": f"garmax-python/{__version__}",
        }
        if self.version:
            headers["Garmax-Version"] = self.version
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        data = None
        if multipart is not None:
            data, headers["Content-Type"] = multipart_encode(*multipart)
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        url = self.url(path, params)
        attempt = 0
        while True:
            try:
                status, body, answer_headers = self._send(method, url, headers, data)
            except errors.APIConnectionError:
                if attempt >= self.max_retries:
                    raise
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if status < 400:
                if answer is not None:
                    answer.update(status=status, etag=answer_headers.get("etag"))
                return body
            error = errors.error_from_response(status, body, answer_headers)
            delay = self._retry_delay(status, error, attempt)
            if delay is None:
                raise error
            self._sleep(delay)
            attempt += 1

    def _retry_delay(self, status: int, error: errors.APIError, attempt: int) -> float | None:
        if attempt >= self.max_retries or status not in RETRY_STATUSES:
            return None
        # A 409 is retried only when it says our own first attempt is still in flight; other conflicts
        # (a revoked key, a cancelled session) will not change by waiting.
        if status == 409 and "idempotencyKey" not in error.details:
            return None
        retry_after = errors.seconds_from_header(error.headers.get("retry-after"))
        if retry_after is not None:
            return None if retry_after > MAX_RETRY_AFTER_SECONDS else retry_after
        return self._backoff(attempt)

    @staticmethod
    def _backoff(attempt: int) -> float:
        ceiling = min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt)
        return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes | None):
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _decode(response.read()), _lower(response.headers)
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, _decode(answer.read()), _lower(answer.headers)
        except (urllib.error.URLError, OSError) as failure:
            raise errors.APIConnectionError(f"{method} {url} got no answer: {failure}") from failure


def _lower(headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()} if headers else {}


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
