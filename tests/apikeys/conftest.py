import os

import pytest
import redis
from rest_framework.test import APIClient


@pytest.fixture
def key_client():
    """An APIClient sending the given full key."""

    def build(raw_key, address="10.0.0.1"):
        client = APIClient(REMOTE_ADDR=address)
        client.credentials(HTTP_X_API_KEY=raw_key)
        return client

    return build


@pytest.fixture
def second_redis_client():
    """A second, independent Redis client and connection pool: what another web process would hold."""
    other = redis.Redis.from_url(os.environ["REDIS_URL"])
    yield other
    other.close()


@pytest.fixture
def unreachable_redis(settings):
    """The default cache pointed at a Redis nobody listens on."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "gx",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
