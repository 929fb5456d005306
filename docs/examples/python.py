"""The API from Python with requests: status, account, a customer upserted and read back, rate-limit windows.

Run: GARMAX_API_URL=https://api.garmax.ai/api GARMAX_API_KEY=gx_test_... python python.py
(tests/config/test_docs_examples.py runs this file against a live test server.)
"""

import os
import uuid

import requests

API = os.environ.get("GARMAX_API_URL", "http://127.0.0.1:8000/api")
session = requests.Session()
session.headers["X-API-Key"] = os.environ["GARMAX_API_KEY"]


def call(method, path, **kwargs):
    response = session.request(method, f"{API}{path}", timeout=30, **kwargs)
    if response.status_code >= 400:
        # Every error has the same body: {"error", "message", "code", "details", "requestId"}.
        error = response.json()
        raise SystemExit(f"{error['error']} ({error['code']}): {error['message']} {error['details']}")
    return response


# 1. Is the service up? (no key needed)
status = requests.get(f"{API}/v1/status", timeout=30).json()
print("status:", status["status"], [(e["name"], e["state"]) for e in status["engines"]])

# 2. The account behind the key.
account = call("GET", "/v1/account").json()
print(
    "organization:",
    account["organizationId"],
    "credits:",
    account["credits"],
    "livemode:",
    account["livemode"],
)

# 3. A customer, upserted by your own id (201 created, 200 updated); Idempotency-Key makes a retry safe.
customer = call(
    "POST",
    "/v1/customers",
    json={"externalId": "shopper-42", "email": "shopper42@example.com", "name": "Shopper 42"},
    headers={"Idempotency-Key": str(uuid.uuid4())},
).json()
print("customer:", customer["externalId"])

# 4. Read it back.
print("read back:", call("GET", "/v1/customers/shopper-42").json()["externalId"])

# 5. Every rate-limit window of the key; the X-RateLimit-* headers report the tightest.
limits = call("GET", "/v1/status/rate-limits")
for window in limits.json()["windows"]:
    print(f"window {window['window']}: {window['remaining']} of {window['limit']} left")
print("X-RateLimit-Remaining:", limits.headers["X-RateLimit-Remaining"])
