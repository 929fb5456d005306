"""Looks and render controls: the top and the trousers on the shopper together, two samples as WebP."""

import os

from garmax import Garmax

client = Garmax(api_key=os.environ["GARMAX_API_KEY"])
client.customers.upsert("customer_12345", name="John Doe")
photo = client.photos.upload("customer_12345", os.environ.get("PHOTO_PATH", "me.jpg"))
session = client.cart_tryons.create(
    cart_id="cart_look_001",
    customer_photo_s3_key=photo["photoS3Key"],
    render_quality="sd",
    cart_items=[
        {"productId": "prod_001", "imageUrl": os.environ["GARMENT_URL"], "category": "tops"},
        {"productId": "prod_002", "imageUrl": os.environ["TROUSERS_URL"], "category": "bottoms"},
    ],
    looks=[{"lookId": "weekend", "items": ["prod_001", "prod_002"]}],
    render_items=False,  # only the look: 2 renders, the bottoms first, then the top
    output_format="webp",
)
print(f"pricing: {session['pricing']}")
finished = client.cart_tryons.wait(session["id"], timeout=120)
for look in finished["looks"]:
    print(f"look {look['lookId']}: {look['status']} {look['resultUrl']}")
