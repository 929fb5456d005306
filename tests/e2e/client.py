"""The partner's and the operator's view of the API: plain HTTP with requests, nothing from the app."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

import requests

from tests.concurrency import wait_until
from tests.images import person_jpeg

TERMINAL = {"completed", "partial", "failed", "cancelled"}


def expect(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}, expected {status}: "
        f"{response.text[:2000]}"
    )
    return response.json() if response.content else {}


@dataclass
class Operator:
    """A staff user holding a JWT (organization management and billing)."""

    api: str
    access: str

    @classmethod
    def login(cls, api: str, username: str, password: str) -> Operator:
        body = expect(
            requests.post(f"{api}/auth/token", json={"username": username, "password": password}, timeout=30),
            200,
        )
        assert set(body) >= {"access", "refresh"}
        return cls(api, body["access"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def create_organization(self, name: str, **extra) -> dict:
        payload = {"name": name, "domain": "shop.example.com", "billingEmail": "billing@example.com", **extra}
        return expect(
            requests.post(f"{self.api}/organizations", json=payload, headers=self.headers, timeout=30), 201
        )

    def organization(self, organization_id: str) -> dict:
        return expect(
            requests.get(f"{self.api}/organizations/{organization_id}", headers=self.headers, timeout=30), 200
        )

    def credits(self, organization_id: str) -> Decimal:
        return Decimal(str(self.organization(organization_id)["credits"]))

    def top_up(self, organization_id: str, amount: int) -> dict:
        return expect(
            requests.post(
                f"{self.api}/organizations/{organization_id}/credits",
                json={"amount": amount, "description": "e2e top-up"},
                headers=self.headers,
                timeout=30,
            ),
            201,
        )

    def ledger(self, organization_id: str) -> list[dict]:
        entries, offset = [], 0
        while True:
            page = expect(
                requests.get(
                    f"{self.api}/organizations/{organization_id}/credits",
                    params={"limit": 100, "offset": offset},
                    headers=self.headers,
                    timeout=30,
                ),
                200,
            )
            entries.extend(page["data"])
            offset += len(page["data"])
            if not page["hasMore"] or not page["data"]:
                return entries

    def create_api_key(
        self, organization_id: str, *, scopes=("all",), rate_limit: int | None = None, mode: str = "live"
    ) -> dict:
        payload = {"name": f"e2e {secrets.token_hex(3)}", "scopes": list(scopes), "mode": mode}
        if rate_limit is not None:
            payload["rateLimit"] = rate_limit
        body = expect(
            requests.post(
                f"{self.api}/organizations/{organization_id}/api-keys",
                json=payload,
                headers=self.headers,
                timeout=30,
            ),
            201,
        )
        assert body["key"].startswith(f"gx_{mode}_")
        return body


class Partner:
    """A partner shop's backend calling /api/v1 with its API key."""

    def __init__(self, api: str, key: str):
        self.api = api
        self.key = key
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = key

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(f"{self.api}{path}", timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(f"{self.api}{path}", timeout=30, **kwargs)

    def upsert_customer(self, external_id: str) -> dict:
        response = self.post(
            "/v1/customers",
            json={"externalId": external_id, "email": f"{external_id}@example.com", "name": "Jo Shopper"},
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def upload_photo(self, external_id: str, *, size=(400, 600)) -> dict:
        body = expect(
            self.post(
                f"/v1/customers/{external_id}/photos",
                files={"photo": ("me.jpg", person_jpeg(size, quality=90), "image/jpeg")},
                data={"metadata": '{"capturedAt": "2025-12-11T10:00:00Z"}'},
            ),
            200,
        )
        assert body["photoS3Key"].endswith(".jpg") or body["photoS3Key"].endswith(".jpeg"), body
        return body

    def create_cart(self, photo_key: str, items: list[dict], *, quality="hd", cart_id=None, **extra) -> dict:
        payload = {
            "cartId": cart_id or f"cart_{secrets.token_hex(4)}",
            "customerPhotoS3Key": photo_key,
            "cartItems": items,
            "renderQuality": quality,
            "backgroundScene": "studio",
            **extra,
        }
        return expect(self.post("/v1/cart-tryons", json=payload), 200)

    def cart(self, session_id: str) -> dict:
        return expect(self.get(f"/v1/cart-tryons/{session_id}"), 200)

    def wait_for_cart(self, session_id: str, *, timeout: float = 120) -> dict:
        def finished() -> dict | None:
            body = self.cart(session_id)
            return body if body["status"] in TERMINAL else None

        return wait_until(finished, timeout=timeout, interval=0.5, message=f"cart {session_id} to finish")


def cart_items(garments, names=("tshirt", "jeans")) -> list[dict]:
    categories = {"tshirt": "tops", "jeans": "bottoms", "dress": "dresses", "jacket": "outerwear"}
    return [
        {
            "productId": f"prod_{index:03d}",
            "variantId": f"var_{name}_m",
            "name": name.title(),
            "imageUrl": garments.garment_url(name),
            "category": categories[name],
            "quantity": 1,
            "price": 29.99,
            "currency": "USD",
        }
        for index, name in enumerate(names, start=1)
    ]
