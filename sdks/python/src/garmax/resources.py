"""The API's resources, named as the API names them. Arguments are snake_case keywords (turned into the API's
camelCase); nested objects such as cart items are passed as the API reference writes them. Answers are the
API's JSON objects (dicts typed by `garmax.types`)."""

from __future__ import annotations

import json
import mimetypes
import os
import time
import urllib.parse
from typing import IO, Any

from . import errors
from ._http import Transport, Upload
from .pagination import ListIterator

# Every status after which a cart session or a try-on never changes again: `.wait()` stops on each of them.
CART_TRYON_TERMINAL_STATUSES = frozenset({"completed", "partial", "failed", "cancelled"})
TRYON_TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "skipped"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def api_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """snake_case keywords to the API's camelCase names; None means "not sent"."""
    return {camel(key): value for key, value in fields.items() if value is not None}


def quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


class Resource:
    def __init__(self, transport: Transport):
        self._transport = transport

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._transport.request("GET", path, params=params)

    def _post(self, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Any:
        return self._transport.request("POST", path, json_body=body, idempotency_key=idempotency_key)

    def _list(self, path: str, **params: Any) -> ListIterator:
        return ListIterator(self._transport, path, api_fields(params))

    def _wait(self, path: str, object_id: str, terminal: frozenset, timeout: float, interval: float) -> dict:
        # Conditional polls: the last ETag in If-None-Match, so an unchanged object is a 304 without a body
        # (not counted against the key's rate limit: README, "Conditional polling").
        deadline = time.monotonic() + timeout
        etag, current = None, None
        while True:
            answer: dict = {}
            body = self._transport.request("GET", path, if_none_match=etag, answer=answer)
            if answer.get("status") != 304 or current is None:
                current, etag = body, answer.get("etag")
            if current.get("status") in terminal:
                return current
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.WaitTimeout(
                    f"{object_id} is still {current.get('status')!r} after {timeout:g} s", last=current
                )
            self._transport._sleep(min(interval, left))


class Customers(Resource):
    def upsert(
        self,
        external_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        metadata: dict | None = None,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> dict:
        """Create the customer with your id, or update it (the API answers 201 or 200; both return it)."""
        body = api_fields({"external_id": external_id, "email": email, "name": name, "metadata": metadata})
        return self._post("/v1/customers", {**body, **api_fields(extra)}, idempotency_key=idempotency_key)

    def retrieve(self, external_id: str) -> dict:
        return self._get(f"/v1/customers/{quote(external_id)}")

    def delete(self, external_id: str) -> Any:
        return self._transport.request("DELETE", f"/v1/customers/{quote(external_id)}")

    def list(self, *, limit: int | None = None, **filters: Any) -> ListIterator:
        return self._list("/v1/customers", limit=limit, **filters)


class Photos(Resource):
    def upload(
        self,
        external_id: str,
        file: str | os.PathLike | bytes | IO[bytes],
        *,
        metadata: dict | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """Upload a customer's photo (a path, bytes or a binary file); keep the answer's `photoS3Key`."""
        if isinstance(file, (str, os.PathLike)):
            path = os.fspath(file)
            with open(path, "rb") as handle:
                content = handle.read()
            filename = filename or os.path.basename(path)
        elif isinstance(file, (bytes, bytearray)):
            content = bytes(file)
        else:
            content = file.read()
            filename = filename or os.path.basename(getattr(file, "name", "") or "") or None
        filename = filename or "photo.jpg"
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        fields = {"metadata": json.dumps(metadata)} if metadata is not None else {}
        return self._transport.request(
            "POST",
            f"/v1/customers/{quote(external_id)}/photos",
            multipart=(fields, [Upload("photo", filename, content, content_type)]),
            idempotency_key=idempotency_key,
        )

    def list(self, external_id: str, *, limit: int | None = None) -> ListIterator:
        return self._list(f"/v1/customers/{quote(external_id)}/photos", limit=limit)


class CartTryons(Resource):
    def create(
        self,
        *,
        cart_id: str,
        customer_photo_s3_key: str,
        cart_items: list[dict],
        render_quality: str | None = None,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> dict:
        """Start a cart try-on session (credits are charged now); other fields (`background_scene`, `looks`,
        `metadata`, render controls) are passed through by their snake_case or API names."""
        body = api_fields(
            {
                "cart_id": cart_id,
                "customer_photo_s3_key": customer_photo_s3_key,
                "cart_items": cart_items,
                "render_quality": render_quality,
                **extra,
            }
        )
        return self._post("/v1/cart-tryons", body, idempotency_key=idempotency_key)

    def retrieve(self, session_id: str) -> dict:
        return self._get(f"/v1/cart-tryons/{quote(session_id)}")

    def cancel(self, session_id: str, *, idempotency_key: str | None = None) -> dict:
        """Cancel the session: items not yet rendered are cancelled and refunded."""
        return self._post(f"/v1/cart-tryons/{quote(session_id)}/cancel", idempotency_key=idempotency_key)

    def list(
        self,
        *,
        cart_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> ListIterator:
        return self._list("/v1/cart-tryons", cart_id=cart_id, status=status, limit=limit, **filters)

    def wait(self, session_id: str, timeout: float = 300, *, interval: float = 1.0) -> dict:
        """Poll until the session is completed, partial, failed or cancelled or raise WaitTimeout."""
        path = f"/v1/cart-tryons/{quote(session_id)}"
        return self._wait(path, session_id, CART_TRYON_TERMINAL_STATUSES, timeout, interval)


class Tryons(Resource):
    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> dict:
        """A single try-on: `customer_photo_s3_key`, `product_id`, `image_url`, `category`, …"""
        return self._post("/v1/tryons", api_fields(fields), idempotency_key=idempotency_key)

    def retrieve(self, tryon_id: str) -> dict:
        return self._get(f"/v1/tryons/{quote(tryon_id)}")

    def list(self, *, status: str | None = None, limit: int | None = None, **filters: Any) -> ListIterator:
        return self._list("/v1/tryons", status=status, limit=limit, **filters)

    def wait(self, tryon_id: str, timeout: float = 300, *, interval: float = 1.0) -> dict:
        """Poll until the try-on is completed, failed, cancelled or skipped."""
        path = f"/v1/tryons/{quote(tryon_id)}"
        return self._wait(path, tryon_id, TRYON_TERMINAL_STATUSES, timeout, interval)


class Webhooks(Resource):
    def create(
        self,
        *,
        url: str,
        events: list[str],
        description: str | None = None,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> dict:
        """Register an endpoint; the answer's `secret` is shown once: store it to verify deliveries."""
        body = api_fields({"url": url, "events": events, "description": description, **extra})
        return self._post("/v1/webhooks", body, idempotency_key=idempotency_key)

    def retrieve(self, webhook_id: str) -> dict:
        return self._get(f"/v1/webhooks/{quote(webhook_id)}")

    def update(self, webhook_id: str, **fields: Any) -> dict:
        return self._transport.request(
            "PATCH", f"/v1/webhooks/{quote(webhook_id)}", json_body=api_fields(fields)
        )

    def delete(self, webhook_id: str) -> Any:
        return self._transport.request("DELETE", f"/v1/webhooks/{quote(webhook_id)}")

    def list(self, *, limit: int | None = None) -> ListIterator:
        return self._list("/v1/webhooks", limit=limit)

    def test(self, webhook_id: str) -> dict:
        """Send a signed test event now; the answer says how the endpoint responded."""
        return self._post(f"/v1/webhooks/{quote(webhook_id)}/test")

    def rotate_secret(self, webhook_id: str) -> dict:
        """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
        return self._post(f"/v1/webhooks/{quote(webhook_id)}/rotate-secret")

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        event: str | None = None,
        limit: int | None = None,
    ) -> ListIterator:
        return self._list(
            f"/v1/webhooks/{quote(webhook_id)}/deliveries", status=status, event=event, limit=limit
        )

    def redeliver(self, webhook_id: str, delivery_id: str) -> dict:
        return self._post(f"/v1/webhooks/{quote(webhook_id)}/deliveries/{quote(delivery_id)}/redeliver")


class Account(Resource):
    def retrieve(self) -> dict:
        """The key's organization, mode, balance of that mode, scopes and limits."""
        return self._get("/v1/account")

    def ledger(self, *, type: str | None = None, limit: int | None = None, **filters: Any) -> ListIterator:  # noqa: A002
        return self._list("/v1/account/ledger", type=type, limit=limit, **filters)
