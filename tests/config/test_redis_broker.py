"""config/redis_broker.py: closing a channel after the broker connection was lost, with a task in flight,
no longer kills the worker, and the task is not lost (found by the e2e Redis-outage test)."""

import os
import time
import uuid

import pytest
from kombu import Connection, Exchange, Producer, Queue

from config import broker_settings

pytestmark = pytest.mark.redis


def _connection(transport: str, tag: str) -> Connection:
    # Keys of their own, so this test never restores (or sees) another test's unacknowledged tasks.
    options = {
        "visibility_timeout": 1,
        "unacked_key": f"{tag}-unacked",
        "unacked_index_key": f"{tag}-unacked-index",
        "unacked_mutex_key": f"{tag}-unacked-mutex",
    }
    return Connection(os.environ["REDIS_URL"], transport=transport, transport_options=options)


def _in_flight(connection: Connection, queue: Queue):
    """A task taken from `queue` and not yet acknowledged, as a worker holds it while the task runs."""
    channel = connection.channel()
    bound = queue(channel)
    bound.declare()
    Producer(channel).publish(
        {"task": "tryons.process_cart_session"}, exchange=queue.exchange, routing_key=queue.name
    )
    message = bound.get(no_ack=False)
    assert message is not None and channel.qos._delivered
    return channel


def _lose_the_connection(channel) -> None:
    # The state Celery reaches when it closes the consumer after the broker went away: the channel's pool is
    # torn down and the transport has let go of its connection settings.
    channel._pool = None
    channel.connection.client = None


def test_redis_broker_settings_use_the_fixed_transport(tmp_path):
    settings = broker_settings.transport_settings(kind="redis", data_dir=tmp_path, visibility_timeout=600)
    assert settings["CELERY_BROKER_TRANSPORT"] == "config.redis_broker:Transport"
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 600}


def test_kombus_own_transport_dies_there():
    # Why config/redis_broker.py exists. If a kombu release fixes this, the workaround can go.
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    channel = _in_flight(_connection("redis", tag), queue)
    _lose_the_connection(channel)
    with pytest.raises(AttributeError, match="hostname"):
        channel.close()


def test_closing_after_a_lost_connection_keeps_the_task_for_the_visibility_timeout():
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    channel = _in_flight(_connection("config.redis_broker:Transport", tag), queue)
    _lose_the_connection(channel)
    channel.close()  # no AttributeError: the worker reconnects instead of exiting

    # The task waits in the unacknowledged index and returns to its queue once the visibility timeout passed.
    with _connection("config.redis_broker:Transport", tag) as connection:
        channel = connection.channel()
        bound = queue(channel)
        assert bound.get(no_ack=True) is None
        time.sleep(1.5)
        channel.qos.restore_visible(num=100)
        message = bound.get(no_ack=True)
        assert message is not None and message.payload == {"task": "tryons.process_cart_session"}
        bound.delete()
