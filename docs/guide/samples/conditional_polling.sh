#!/usr/bin/env bash
# Poll conditionally: send back the ETag you were given in If-None-Match. While nothing changed the answer is
# 304 Not Modified with no body (for a cart session or a try-on it is not counted against your rate limit).
set -euo pipefail
BASE=${GARMAX_BASE_URL:-https://api.garmaxai.com/api}
curl -s -o /dev/null -X POST "$BASE/v1/customers" -H "X-API-Key: $GARMAX_API_KEY" \
  -H 'Content-Type: application/json' -d '{"externalId": "guide-polling"}'
ETAG=$(curl -s -D - -o /dev/null "$BASE/v1/customers/guide-polling" -H "X-API-Key: $GARMAX_API_KEY" \
  | grep -i '^etag:' | cut -d' ' -f2- | tr -d '\r')
curl -s -D - -o /dev/null "$BASE/v1/customers/guide-polling" -H "X-API-Key: $GARMAX_API_KEY" \
  -H "If-None-Match: $ETAG" | grep -iE '^(HTTP/|etag:)' | tr -d '\r'
