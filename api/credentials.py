"""The prefixes that mark our credentials: API keys (`gx_live_…`, `gx_test_…`) and webhook secrets
(`whsec_…`).

Declared once, in the kernel: apikeys makes and recognises keys with them, webhooks makes secrets with it,
and the kernel's idempotency replay and the log redaction find credentials by them.
"""

import re

LIVE_KEY_PREFIX = "gx_live_"
TEST_KEY_PREFIX = "gx_test_"
# By ApiKey.Mode; both are 8 characters, so a key's lookup prefix has one length in both modes.
API_KEY_PREFIXES = {"live": LIVE_KEY_PREFIX, "test": TEST_KEY_PREFIX}
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

# For regular expressions: either API key prefix.
API_KEY_PREFIX_PATTERN = "|".join(re.escape(prefix) for prefix in API_KEY_PREFIXES.values())
