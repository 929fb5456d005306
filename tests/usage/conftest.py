import pytest

from infrastructure.shared_cache import redis_client
from usage import buffer


@pytest.fixture(autouse=True)
def _empty_usage_buffer():
    buffer.usage_batch_push()  # nothing from an earlier test lands in this one's Redis db
    redis = redis_client()
    if redis is not None:
        redis.delete(buffer.BUFFER_KEY)


@pytest.fixture
def flush():
    """Stand-in for the pusher thread and the beat tick (in embedded mode records are already stored)."""

    def run():
        buffer.usage_batch_push()
        return buffer.usage_flush()

    return run


@pytest.fixture
def store():
    """Records written through the flush's own path (request log and rollups)."""

    def write(key, *, at, method="GET", route="/api/v1/customers", status_code=200, duration_ms=10, **extra):
        buffer._store(
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
