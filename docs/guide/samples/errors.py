"""Errors are typed: catch the ones you can act on, log requestId for the rest."""

import os

import garmax

client = garmax.Garmax(api_key=os.environ["GARMAX_API_KEY"])

try:
    client.customers.retrieve("no_such_customer")
except garmax.NotFoundError as error:
    print(f"{error.code} {error.error}: {error.message} (request {error.request_id})")

try:
    client.cart_tryons.create(
        cart_id="cart_bad",
        customer_photo_s3_key="enterprise/org-x/photos/missing.jpg",
        cart_items=[{"productId": "p1", "imageUrl": "https://shop.example.com/a.png", "category": "hats"}],
    )
except garmax.ValidationError as error:
    print(f"{error.error}: fields {sorted(error.details)}")
except garmax.InsufficientCreditsError as error:
    print(f"needs {error.details['required']} credits, has {error.details['available']}")
except garmax.RateLimitError as error:  # only after the SDK's own retries
    print(f"rate limited; retry after {error.retry_after} s")
