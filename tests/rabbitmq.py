"""A private RabbitMQ virtual host for one test run (unit tests, e2e stacks, bench), so parallel runs on one
server never consume each other's messages or collide on queue declarations.

RabbitMQ's AMQP protocol cannot create a virtual host and the management plugin is not enabled everywhere,
so this uses `rabbitmqctl` (it talks to the node over Erlang distribution, no plugin needed). The server is
the one RABBITMQ_URL names (default: the local guest account); the vhost is deleted, with everything in
it, when the block ends.
"""

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672"


def server_url() -> str:
    return os.environ.get("RABBITMQ_URL") or DEFAULT_URL


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def vhost_create(name: str) -> str:
    """Create `name` with full permissions for the URL's user; return the URL of that vhost."""
    parts = urlsplit(server_url())
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, parts.username or "guest", ".*", ".*", ".*")
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def vhost_delete(name: str) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):  # already gone
        _rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def private_vhost(prefix: str = "garmax_test") -> Iterator[str]:
    """A fresh vhost for the block: yields its amqp:// URL, deletes it afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    url = vhost_create(name)
    try:
        yield url
    finally:
        vhost_delete(name)


@contextlib.contextmanager
def celery_app_on(url: str) -> Iterator[None]:
    """Point this process's Celery app (config.celery) at the RabbitMQ `url` for the block, configured as
    config/settings.py configures it for an amqp:// CELERY_BROKER_URL; restore it afterwards."""
    from django.conf import settings
    from kombu import pools

    from config import broker_settings
    from config.celery import app

    names = tuple(queue.name for queue in settings.CELERY_TASK_QUEUES)
    transport = broker_settings.transport_settings(
        kind="rabbitmq", data_dir=settings.DATA_DIR, visibility_timeout=600
    )
    overrides = {key.removeprefix("CELERY_").lower(): value for key, value in transport.items()}
    overrides.update(broker_url=url, task_queues=broker_settings.task_queues(names, kind="rabbitmq"))
    # amqp:// picks kombu's own transport only if no other is named (Redis names
    # infrastructure.redis_broker's).
    overrides.setdefault("broker_transport", None)
    previous = {key: app.conf.get(key) for key in overrides}

    def reconfigure(values: dict) -> None:
        # Connection and producer pools are built from the configuration once and cached, on the app and in
        # kombu's registry: close and forget them all so the next publish connects to the broker now named.
        pools.reset()
        app.conf.update(values)
        app._pool = None
        app.__dict__.pop("amqp", None)

    reconfigure(overrides)
    try:
        yield
    finally:
        reconfigure(previous)
