#!/usr/bin/env bash
# The same POST twice with one Idempotency-Key: the second is the first's answer, replayed.
set -euo pipefail
BASE=${GARMAX_BASE_URL:-https://api.garmaxai.com/api}
KEY_HEADER="X-API-Key: $GARMAX_API_KEY"
IDEM="customer-upsert-$(date +%s)-$$"
for attempt in 1 2; do
  curl -s -D - -o /dev/null -X POST "$BASE/v1/customers" -H "$KEY_HEADER" -H "Idempotency-Key: $IDEM" \
       -H 'Content-Type: application/json' -d '{"externalId": "customer_idem", "name": "Jo"}' \
    | grep -iE '^(HTTP/|idempotent-replayed)' | tr -d '\r'
done
