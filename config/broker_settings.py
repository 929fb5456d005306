"""The Celery broker's settings for each transport: RabbitMQ (amqp://), Redis (redis://) or, embedded, kombu's
filesystem transport (infrastructure/broker.py). config/settings.py reads the environment and calls this.

Every transport gets the same queues (one per pipeline, declared from one list of names, so a plain
`celery -A config worker` consumes all of them) and the same routing. On RabbitMQ they are durable quorum
queues, replicated across the cluster and redelivered the moment a consumer's connection dies; `classic`
remains for servers older than 3.8. Their exchanges are topic exchanges because Celery's native delayed
delivery, which carries countdown tasks (webhook retries) on quorum queues, cannot route through a direct
one; a topic binding on the queue's own name routes exactly like a direct one.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

SCHEMES = {
    "rabbitmq": ("amqp://", "amqps://", "pyamqp://"),
    "redis": ("redis://", "rediss://", "unix://"),
    "filesystem": ("filesystem://",),
}
QUEUE_TYPES = ("quorum", "classic")


def broker_kind(url: str) -> str:
    """rabbitmq, redis or filesystem: which broker a CELERY_BROKER_URL names (no secret in the answer)."""
    for kind, schemes in SCHEMES.items():
        if url.startswith(schemes):
            return kind
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must start with amqp://, amqps://, redis://, rediss:// or unix://"
    )


def task_queues(names: tuple[str, ...], *, kind: str, queue_type: str = "quorum") -> tuple[Queue, ...]:
    """One queue per name, each on its own exchange under its own routing key (as Celery creates a missing
    queue): left to Celery's defaults, all of them would be bound to "celery" under one key and a task would
    land in every one."""
    if queue_type not in QUEUE_TYPES:
        raise ImproperlyConfigured(f"RABBITMQ_QUEUE_TYPE must be quorum or classic, got {queue_type!r}")
    if kind != "rabbitmq":
        return tuple(Queue(name, Exchange(name), routing_key=name) for name in names)
    return tuple(
        Queue(
            name,
            Exchange(name, type="topic", durable=True),
            routing_key=name,
            durable=True,
            queue_arguments={"x-queue-type": queue_type},
        )
        for name in names
    )


def transport_settings(*, kind: str, data_dir: Path, visibility_timeout: int) -> dict:
    """The CELERY_BROKER_* settings that differ per transport."""
    if kind == "filesystem":
        broker_dir = data_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        return {
            # kombu's filesystem transport with atomic writes (see infrastructure/broker.py for why).
            "CELERY_BROKER_TRANSPORT": "infrastructure.broker:Transport",
            "CELERY_BROKER_TRANSPORT_OPTIONS": {
                "data_folder_in": str(broker_dir / "queue"),
                "data_folder_out": str(broker_dir / "queue"),
                "processed_folder": str(broker_dir / "processed"),
                "control_folder": str(broker_dir / "control"),
                "store_processed": False,
            },
        }
    if kind == "redis":
        # An unacknowledged task returns to the queue after this long. Dead try-on work does not wait for it
        # (the heartbeat sweeper resumes it within TRYON_HEARTBEAT_TIMEOUT_SECONDS +
        # TRYON_SWEEP_INTERVAL_SECONDS) and a try-on task redelivered while its run is alive, or after it
        # finished, does nothing. It stays above the longest run of the other tasks (a webhook attempt:
        # WEBHOOK_TIMEOUT_SECONDS), which have no lease and would run twice.
        return {
            # kombu's Redis transport, fixed to survive a Redis restart with tasks in flight
            # (infrastructure/redis_broker.py).
            "CELERY_BROKER_TRANSPORT": "infrastructure.redis_broker:Transport",
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": visibility_timeout},
        }
    return {
        # Publisher confirms: `.delay()` returns once RabbitMQ has taken the message (written to a quorum of
        # nodes), and a message the broker refuses raises instead of vanishing.
        "CELERY_BROKER_TRANSPORT_OPTIONS": {"confirm_publish": True},
        # Quorum queues refuse a global QoS; Celery detects them and sets a per-consumer prefetch instead.
        "CELERY_WORKER_DETECT_QUORUM_QUEUES": True,
    }
