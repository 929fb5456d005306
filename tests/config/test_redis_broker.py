"""infrastructure/redis_broker.py: closing a channel after the broker connection was lost, with a task in
flight,
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
    return _in_flight_message(connection, queue).channel


def _in_flight_message(connection: Connection, queue: Queue):
    channel = connection.channel()
    bound = queue(channel)
    bound.declare()
    Producer(channel).publish(
        {"task": "tryons.process_cart_session"}, exchange=queue.exchange, routing_key=queue.name
    )
    message = bound.get(no_ack=False)
    assert message is not None and channel.qos._delivered
    return message


def _closed_after_the_loss(channel) -> None:
    # As Celery leaves the old channel when it reconnects: closed, pool gone, detached from its connection.
    _lose_the_connection(channel)
    channel.close()
    assert channel.connection is None


def _restored_after_the_visibility_timeout(tag: str, queue: Queue) -> dict | None:
    with _connection("infrastructure.redis_broker:Transport", tag) as connection:
        channel = connection.channel()
        bound = queue(channel)
        assert bound.get(no_ack=True) is None
        time.sleep(1.5)
        channel.qos.restore_visible(num=100)
        message = bound.get(no_ack=True)
        bound.delete()
        return None if message is None else message.payload


def _lose_the_connection(channel) -> None:
    # The state Celery reaches when it closes the consumer after the broker went away: the channel's pool is
    # torn down and the transport has let go of its connection settings.
    channel._pool = None
    channel.connection.client = None


def test_redis_broker_settings_use_the_fixed_transport(tmp_path):
    settings = broker_settings.transport_settings(kind="redis", data_dir=tmp_path, visibility_timeout=600)
    assert settings["CELERY_BROKER_TRANSPORT"] == "infrastructure.redis_broker:Transport"
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 600}


def test_kombus_own_transport_dies_there():
    # Why infrastructure/redis_broker.py exists. If a kombu release fixes this, the workaround can go.
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    channel = _in_flight(_connection("redis", tag), queue)
    _lose_the_connection(channel)
    with pytest.raises(AttributeError, match="hostname"):
        channel.close()


def test_closing_after_a_lost_connection_keeps_the_task_for_the_visibility_timeout():
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    channel = _in_flight(_connection("infrastructure.redis_broker:Transport", tag), queue)
    _lose_the_connection(channel)
    channel.close()  # no AttributeError: the worker reconnects instead of exiting

    # The task waits in the unacknowledged index and returns to its queue once the visibility timeout passed.
    assert _restored_after_the_visibility_timeout(tag, queue) == {"task": "tryons.process_cart_session"}


def test_publishes_share_one_client_per_pool_and_a_new_pool_gets_a_new_one():
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    connection = _connection("infrastructure.redis_broker:Transport", tag)
    channel = connection.channel()
    bound = queue(channel)
    bound.declare()
    producer = Producer(channel)

    def publish(n):
        producer.publish({"n": n}, exchange=queue.exchange, routing_key=queue.name)

    publish(1)
    first_client = channel._sync_client
    publish(2)
    assert channel._sync_client is first_client
    old_pool = channel._pool
    channel._pool = None  # as after a reconnect: a fresh pool
    publish(3)
    assert channel._sync_client is not first_client
    assert channel._sync_client.connection_pool is channel._pool is not old_pool

    received = []
    while (message := bound.get(no_ack=True)) is not None:
        received.append(message.payload["n"])
    assert received == [1, 2, 3]
    channel.close()
    connection.release()


def test_kombus_own_transport_dies_acknowledging_a_task_that_outlived_its_channel():
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    message = _in_flight_message(_connection("redis", tag), queue)
    channel = message.channel
    channel.qos._delivered.clear()  # kombu's own close would die restoring them (the test above)
    channel._pool = None
    channel.connection.client = None
    channel.close()
    with pytest.raises(AttributeError):
        message.ack()


@pytest.mark.parametrize("finish", ["ack", "reject", "requeue"])
def test_a_task_finishing_after_its_channel_closed_returns_after_the_visibility_timeout(finish):
    tag = f"test-{uuid.uuid4().hex}"
    queue = Queue(tag, Exchange(tag, type="direct"), routing_key=tag)
    message = _in_flight_message(_connection("infrastructure.redis_broker:Transport", tag), queue)
    _closed_after_the_loss(message.channel)

    # No AttributeError: the worker goes on with its new connection instead of exiting.
    if finish == "ack":
        message.ack()
    else:
        message.reject(requeue=finish == "requeue")

    assert _restored_after_the_visibility_timeout(tag, queue) == {"task": "tryons.process_cart_session"}
