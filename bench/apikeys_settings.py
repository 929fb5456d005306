"""Settings for the HTTP benchmarks: the real settings, plus bench-only views (and the drf-api-key peer's
app) and a rate limit so high that it never triggers (the limiter still runs on every request)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.apikeys_urls"
API_KEY_MAX_RATE_LIMIT = 100_000_000
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The peer in bench/apikeys_auth.py: djangorestframework-api-key (dev extra), reading our header name.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_api_key"]  # noqa: F405
API_KEY_CUSTOM_HEADER = "HTTP_X_API_KEY"
