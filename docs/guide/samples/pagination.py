"""Every list is an iterator: pages are fetched with the cursor (startingAfter) as you read."""

import os

from garmax import Garmax

client = Garmax(api_key=os.environ["GARMAX_API_KEY"])
for n in range(3):
    client.customers.upsert(f"paging_{n}", name=f"Shopper {n}")

count = sum(1 for _ in client.customers.list(limit=2))  # 2 per request, every customer
print(f"customers: {count}")
first = client.cart_tryons.list(status="completed", limit=10).first_page()  # or one page as the API answers
print(f"first page: {len(first['data'])} sessions, more: {first['hasMore']}")
