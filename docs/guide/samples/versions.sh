#!/usr/bin/env bash
# Pin an API version per request with Garmax-Version; every answer names the version that answered it.
set -euo pipefail
BASE=${GARMAX_BASE_URL:-https://api.garmaxai.com/api}
VERSION_HEADER=()
[ -n "${GARMAX_VERSION:-}" ] && VERSION_HEADER=(-H "Garmax-Version: $GARMAX_VERSION")
curl -s -D - -o /dev/null "$BASE/v1/account" -H "X-API-Key: $GARMAX_API_KEY" "${VERSION_HEADER[@]}" \
  | grep -iE '^(HTTP/|garmax-version:)' | tr -d '\r'
