#!/usr/bin/env bash
# Every API-key answer carries the key's limit, what is left of it and when it resets (unix seconds).
set -euo pipefail
BASE=${GARMAX_BASE_URL:-https://api.garmaxai.com/api}
curl -s -D - -o /dev/null "$BASE/v1/account" -H "X-API-Key: $GARMAX_API_KEY" \
  | grep -iE '^(x-ratelimit-(limit|remaining|reset)|x-request-id|garmax-version):' | tr -d '\r'
