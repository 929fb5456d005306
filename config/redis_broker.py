"""kombu's Redis transport, with one fix that keeps a worker alive through a Redis restart.

When the broker connection drops, Celery closes the consumer's connection before reconnecting. Closing a
channel hands its unacknowledged messages back to their queues (`restore_unacked`), which needs a Redis
client. If the channel's pool was already torn down and the transport has let go of its connection
settings, kombu builds the client from `None` and raises AttributeError ("'NoneType' object has no
attribute 'hostname'"). That is not among the errors Celery treats as a lost connection, so the worker
logs "Unrecoverable error" and exits: the e2e Redis-outage test caught it once in a few runs, whenever the
outage found tasks in flight.

Nothing is lost by not restoring there: the messages stay in Redis's unacknowledged index, and kombu
restores them to their queues once the visibility timeout passes (see config/broker_settings.py), as it
does for a worker that was killed.
"""

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        channel = self.channel
        if client is None and channel._pool is None and channel.connection.client is None:
            logger.warning(
                "broker connection gone while closing: %d unacknowledged task(s) return to their queues "
                "after the visibility timeout",
                len(self._delivered),
            )
            self._delivered.clear()
            return
        return super().restore_unacked(client)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
