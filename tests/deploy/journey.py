"""The README journey over HTTP against a deployed stack (containers or played manifests), and the cart that
outlives its worker. Only HTTP and the caller's hooks: nothing here imports the app.

The e2e journey (tests/e2e/test_flow.py) starts its own processes; this one takes a base URL, and uses the
same partner and operator clients (tests/e2e/client.py) and the same loopback shop and webhook receiver.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import requests
from PIL import Image
from standardwebhooks import Webhook

from tests.concurrency import wait_until
from tests.e2e.client import Operator, Partner, cart_items, expect
from tests.http_servers import GarmentServer, WebhookReceiver

CART_EVENTS = ["cart_tryon.completed", "cart_tryon.partial", "cart_tryon.failed"]
PROBES = (requests.RequestException, ValueError, KeyError)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def image_at(url: str) -> tuple[int, int]:
    """GET a signed URL (its only credential) and return the image's size."""
    response = requests.get(url, timeout=30)
    check(response.status_code == 200, f"GET {url} -> {response.status_code}: {response.text[:300]}")
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image.size


def _events(receiver: WebhookReceiver, path: str) -> dict[str, list]:
    by_event: dict[str, list] = {}
    for delivery in receiver.received(path):
        by_event.setdefault(json.loads(delivery.body)["id"], []).append(delivery)
    return by_event


def partner_journey(
    api: str, operator: Operator, garments: GarmentServer, receiver: WebhookReceiver, *, label: str
) -> dict:
    """Organization and key (operator, JWT), webhook, customer, photo, a two-item hd cart polled to completed,
    every result downloaded, the completion webhook received and its signature verified, 4 credits spent."""
    started = time.monotonic()
    organization = operator.create_organization(f"Container journey ({label})")
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=5000)
    partner = Partner(api, key["key"])
    partner.organization_id = organization["id"]
    path = f"/journey-{label}"
    webhook = expect(
        partner.post("/v1/webhooks", json={"url": receiver.url_at(path), "events": CART_EVENTS}), 201
    )
    partner.upsert_customer("customer_12345")
    photo = partner.upload_photo("customer_12345")
    check(image_at(photo["photoUrl"]) == (400, 600), "the photo's signed URL serves the photo")
    session = partner.create_cart(photo["photoS3Key"], cart_items(garments), quality="hd")
    check(Decimal(str(session["creditsCharged"])) == 4, f"a 2-item hd cart charges 4 credits: {session}")
    finished = partner.wait_for_cart(session["id"], timeout=120)
    check(finished["status"] == "completed" and finished["progress"] == 100, f"cart completed: {finished}")
    results = [image_at(item["resultUrl"]) for item in finished["cartItems"]]
    check(len(results) == 2, f"two results: {finished['cartItems']}")
    deliveries = wait_until(
        lambda: _events(receiver, path), timeout=60, interval=0.2, message="the cart's completion webhook"
    )
    (delivered,) = deliveries.values()
    payload = Webhook(webhook["secret"]).verify(delivered[0].body, delivered[0].headers)
    check(payload["event"] == "cart_tryon.completed", f"completion event: {payload}")
    check(payload["data"]["sessionId"] == session["id"], "the event names the cart")
    check(operator.credits(organization["id"]) == Decimal(96), "100 signup credits less 4")
    return {
        "partner": partner,
        "photo_key": photo["photoS3Key"],
        "session": session["id"],
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
    }


def cart_outlives_worker(
    api: str,
    operator: Operator,
    garments: GarmentServer,
    receiver: WebhookReceiver,
    *,
    kill_worker: Callable[[], None],
    start_worker: Callable[[], None],
    deadline: float,
) -> dict:
    """A four-item cart whose worker is killed (SIGKILL) after its first item: a new worker finishes it
    within `deadline` seconds, renders no finished item again, charges once and sends one event."""
    organization = operator.create_organization("Container journey (worker killed)")
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=5000)
    partner = Partner(api, key["key"])
    expect(partner.post("/v1/webhooks", json={"url": receiver.url_at("/kill"), "events": CART_EVENTS}), 201)
    partner.upsert_customer("kill-shopper")
    photo_key = partner.upload_photo("kill-shopper")["photoS3Key"]
    categories = {"tshirt": "tops", "jeans": "bottoms", "dress": "dresses", "jacket": "outerwear"}
    items = [
        {"productId": f"prod_{name}", "imageUrl": garments.garment_url(f"{name}-kill"), "category": category}
        for name, category in categories.items()
    ]
    garments.delay = 1.5  # each garment download takes 1.5 s: time to catch the worker mid-cart
    try:
        session = partner.create_cart(photo_key, items, quality="sd")

        def partly_rendered():
            body = partner.cart(session["id"])
            done = [item for item in body["cartItems"] if item["status"] == "completed"]
            return body if body["status"] == "processing" and done else None

        before = wait_until(partly_rendered, timeout=60, interval=0.1, ignore=PROBES, message="first item")
        kill_worker()
        killed_at = time.monotonic()
    finally:
        garments.delay = 0
    rendered_before = {item["productId"] for item in before["cartItems"] if item["status"] == "completed"}
    check(0 < len(rendered_before) < 4, f"killed mid-cart: {before['cartItems']}")
    start_worker()
    finished = partner.wait_for_cart(session["id"], timeout=deadline)
    resumed = time.monotonic() - killed_at
    check(finished["status"] == "completed", f"the cart completed after the kill: {finished}")
    check([image_at(item["resultUrl"]) for item in finished["cartItems"]] != [], "results download")
    hits = Counter(path.rsplit("/", 1)[-1] for path in garments.hits if "-kill" in path)
    again = [p for p in rendered_before if hits[f"{p.removeprefix('prod_')}-kill.png"] != 1]
    check(not again, f"items finished before the kill were not rendered again: {again} {hits}")
    check(operator.credits(organization["id"]) == Decimal(96), "charged once, nothing refunded")
    wait_until(lambda: _events(receiver, "/kill"), timeout=60, interval=0.2, message="completion webhook")
    time.sleep(3)  # a duplicate would arrive right behind the first
    check(len(_events(receiver, "/kill")) == 1, "one completion event, however often the task ran")
    return {"rendered_before_kill": len(rendered_before), "finished_after_kill_seconds": round(resumed, 1)}
