"""Quickstart with the Python SDK: customer -> photo -> cart try-on -> wait -> results.

pip install garmax; GARMAX_API_KEY=gx_test_... python quickstart.py
"""

import os

from garmax import Garmax

client = Garmax(api_key=os.environ["GARMAX_API_KEY"])  # base_url: $GARMAX_BASE_URL, else production
print(f"mode: {client.mode}")

customer = client.customers.upsert("customer_12345", email="john@example.com", name="John Doe")
photo = client.photos.upload("customer_12345", os.environ.get("PHOTO_PATH", "me.jpg"))

session = client.cart_tryons.create(
    cart_id="cart_001",
    customer_photo_s3_key=photo["photoS3Key"],
    render_quality="sd",
    cart_items=[
        {
            "productId": "prod_001",
            "name": "Red top",
            "imageUrl": os.environ.get("GARMENT_URL", "https://shop.example.com/red-top.png"),
            "category": "tops",
        }
    ],
)
print(f"session {session['id']}: {session['status']}, {session['creditsCharged']} credits")

finished = client.cart_tryons.wait(session["id"], timeout=120)  # completed, partial, failed or cancelled
print(f"status: {finished['status']}")
for item in finished["cartItems"]:
    print(f"{item['productId']}: {item['status']} {item.get('resultUrl')}")
