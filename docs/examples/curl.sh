#!/usr/bin/env bash
# The API with curl: status, account, a customer upserted and read back, the key's rate-limit windows.
# Run: GARMAX_API_URL=https://api.garmax.ai/api GARMAX_API_KEY=gx_test_... bash curl.sh
# (tests/config/test_docs_examples.py runs this file against a live test server.)
set -euo pipefail
API="${GARMAX_API_URL:-http://127.0.0.1:8000/api}"
KEY="${GARMAX_API_KEY:?set GARMAX_API_KEY to your gx_live_ or gx_test_ key}"

# 1. Is the service up? (no key needed)
curl -sS --fail-with-body "$API/v1/status"
echo

# 2. The account behind the key: organization, balance of the key's mode, the key's limits.
curl -sS --fail-with-body -H "X-API-Key: $KEY" "$API/v1/account"
echo

# 3. A customer, upserted by your own id (201 created, 200 updated). Idempotency-Key makes a retry safe.
curl -sS --fail-with-body -X POST "$API/v1/customers" \
  -H "X-API-Key: $KEY" -H "Content-Type: application/json" \
  -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid 2>/dev/null || date +%s%N)" \
  -d '{"externalId": "shopper-42", "email": "shopper42@example.com", "name": "Shopper 42"}'
echo

# 4. Read it back.
curl -sS --fail-with-body -H "X-API-Key: $KEY" "$API/v1/customers/shopper-42"
echo

# 5. Every rate-limit window of the key (minute, hour, day, monthly quota); -i shows the X-RateLimit-* headers.
curl -sS --fail-with-body -i -H "X-API-Key: $KEY" "$API/v1/status/rate-limits"
echo
