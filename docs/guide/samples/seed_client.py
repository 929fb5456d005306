"""The partner API reference's Python example, corrected: it uploads the photo it tries on, and its loop ends
on every terminal status (a session cancelled elsewhere no longer keeps it polling forever)."""

import os
import time

import requests

API_KEY = os.environ["GARMAX_API_KEY"]
BASE_URL = os.environ.get("GARMAX_BASE_URL", "https://api.garmaxai.com/api")
TERMINAL = {"completed", "partial", "failed", "cancelled"}


def upload_photo(external_id, path):
    with open(path, "rb") as photo:
        response = requests.post(
            f"{BASE_URL}/v1/customers/{external_id}/photos",
            files={"photo": (os.path.basename(path), photo, "image/jpeg")},
            headers={"X-API-Key": API_KEY},
            timeout=60,
        )
    response.raise_for_status()
    return response.json()["photoS3Key"]


def create_cart_tryon(cart_id, customer_photo_s3_key, cart_items):
    response = requests.post(
        f"{BASE_URL}/v1/cart-tryons",
        json={
            "cartId": cart_id,
            "customerPhotoS3Key": customer_photo_s3_key,
            "cartItems": cart_items,
            "renderQuality": "hd",
            "backgroundScene": "studio",
        },
        headers={"X-API-Key": API_KEY, "Idempotency-Key": f"cart-{cart_id}"},
        timeout=30,
    )
    response.raise_for_status()  # 200 (or 201 on the first API version): both are success
    return response.json()


def wait_for_completion(session_id, max_attempts=60):
    for _ in range(max_attempts):
        response = requests.get(
            f"{BASE_URL}/v1/cart-tryons/{session_id}", headers={"X-API-Key": API_KEY}, timeout=30
        )
        response.raise_for_status()
        data = response.json()
        print(f"Status: {data['status']}, Progress: {data['progress']}%")
        if data["status"] in TERMINAL:
            return data
        time.sleep(2)
    raise TimeoutError("Timeout waiting for completion")


requests.post(
    f"{BASE_URL}/v1/customers",
    json={"externalId": "customer_12345", "name": "John Doe"},
    headers={"X-API-Key": API_KEY},
    timeout=30,
).raise_for_status()
photo_key = upload_photo("customer_12345", os.environ.get("PHOTO_PATH", "me.jpg"))
session = create_cart_tryon(
    f"cart_{int(time.time())}",
    photo_key,
    [
        {
            "productId": "prod_001",
            "variantId": "var_blue_m",
            "name": "Blue T-Shirt",
            "imageUrl": os.environ.get("GARMENT_URL", "https://shop.com/tshirt.jpg"),
            "category": "tops",
            "quantity": 1,
            "price": 29.99,
            "currency": "USD",
        }
    ],
)
result = wait_for_completion(session["id"])
for item in result["cartItems"]:
    print(f"{item['name']}: {item['status']} {item.get('resultUrl')}")
