"""kombu's Redis transport, with fixes that keep a worker alive through a Redis restart, and one client per
connection pool instead of one per published message (Channel below).

When the broker connection drops, Celery closes the consumer's connection before reconnecting. Closing a
channel hands its unacknowledged messages back to their queues (`restore_unacked`), which needs a Redis
client. If the channel's pool was already torn down and the transport has let go of its connection
settings, kombu builds the client from `None` and raises AttributeError ("'NoneType' object has no
attribute 'hostname'"). That is not among the errors Celery treats as a lost connection, so the worker
logs "Unrecoverable error" and exits, whenever a Redis outage finds tasks in flight (the e2e Redis-outage
test). A task still running then finishes later and is acknowledged (or rejected) on the closed channel,
which fails the same way: that acknowledgement is skipped too.

Nothing is lost by not restoring there: the messages stay in Redis's unacknowledged index, and kombu
restores them to their queues once the visibility timeout passes (see config/broker_settings.py), as it
does for a worker that was killed.
"""

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


def _connection_gone(channel) -> bool:
    """The channel was closed under a lost connection: its pool is gone and no client can be built."""
    connection = channel.connection
    return channel._pool is None and (connection is None or connection.client is None)


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        if client is None and _connection_gone(self.channel):
            logger.warning(
                "broker connection gone while closing: %d unacknowledged task(s) return to their queues "
                "after the visibility timeout",
                len(self._delivered),
            )
            self._delivered.clear()
            return
        return super().restore_unacked(client)

    # A task that finishes after its channel was closed (the broker went away while it ran, and Celery has
    # reconnected since) is acknowledged on the closed channel; kombu would build a client from nothing and
    # the worker would exit (seen once in CI's Redis-outage test). The task stays in the unacknowledged
    # index instead and runs again after the visibility timeout: every task here tolerates a second run.
    def ack(self, delivery_tag):
        if not self._left_for_the_visibility_timeout(delivery_tag):
            super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if not self._left_for_the_visibility_timeout(delivery_tag):
            super().reject(delivery_tag, requeue=requeue)

    def _left_for_the_visibility_timeout(self, delivery_tag) -> bool:
        if not _connection_gone(self.channel):
            return False
        logger.warning("broker connection gone: task %s returns after the visibility timeout", delivery_tag)
        return True


class Channel(redis.Channel):
    QoS = QoS
    _sync_client = None

    def _create_client(self, asynchronous=False):
        # kombu builds a new redis.Redis for every publish (`conn_or_acquire`), and building one (its ~250
        # response callbacks) cost more CPU than the LPUSH it is for: ~0.1 ms of a cart create. A client on
        # a connection pool keeps no connection of its own, so one per pool serves every publish; a new
        # pool (after a reconnect) gets a new client.
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._sync_client
        if client is None or client.connection_pool is not pool:
            client = self._sync_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
