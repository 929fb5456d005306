import pytest

from apikeys import usage
from infrastructure.shared_cache import redis_client


@pytest.fixture(autouse=True)
def _empty_usage_buffer():
    usage.apikey_usage_batch_push()  # nothing from an earlier test lands in this one's Redis db
    redis = redis_client()
    if redis is not None:
        redis.delete(usage.BUFFER_KEY)


@pytest.fixture
def flush():
    """Stand-in for the pusher thread and the beat tick (in embedded mode records are already stored)."""

    def run():
        usage.apikey_usage_batch_push()
        return usage.apikey_usage_flush()

    return run


@pytest.fixture
def store():
    """Records written through the flush's own path (request log and rollups)."""

    def write(key, *, at, method="GET", route="/api/v1/customers", status_code=200, duration_ms=10, **extra):
        usage._store(
            [
                (
                    key.id,
                    method,
                    route,
                    status_code,
                    duration_ms,
                    at.timestamp(),
                    extra.get("request_id", ""),
                    extra.get("error_code", ""),
                    extra.get("client_address", ""),
                )
            ]
        )

    return write
