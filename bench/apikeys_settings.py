"""Settings for the API-key benchmark: the real settings, plus bench-only views and a rate limit so high
that it never triggers (the limiter still runs on every request)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.apikeys_urls"
API_KEY_MAX_RATE_LIMIT = 100_000_000
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
