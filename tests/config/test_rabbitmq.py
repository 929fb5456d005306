"""RabbitMQ as the Celery broker, against the real server in a private vhost: durable quorum queues declared
from the settings, publisher confirms, readiness, and a plain `celery -A config worker` consuming every queue,
countdown tasks (webhook retries) included."""

import os
import subprocess
import time
from urllib.parse import unquote, urlsplit

import pytest
from amqp.exceptions import MessageNacked
from django.core.cache import cache
from kombu import Connection, Exchange, Queue
from rest_framework.test import APIClient

from config.celery import app
from infrastructure import health
from tests import workers
from tests.concurrency import wait_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.django_db]


def queues_on_server(url: str) -> dict[str, tuple[str, str]]:
    vhost = unquote(urlsplit(url).path[1:])
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "name", "type", "durable"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {name: (kind, durable) for name, kind, durable in (line.split() for line in listed.splitlines())}


def consumers_prefetch(url: str) -> dict[str, int]:
    vhost = unquote(urlsplit(url).path[1:])
    listed = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_consumers",
            "-p",
            vhost,
            "--no-table-headers",
            "queue_name",
            "prefetch_count",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {name: int(count) for name, count in (line.split() for line in listed.splitlines())}


def test_readiness_names_rabbitmq_and_declares_the_durable_quorum_queues(rabbitmq_broker):
    response = APIClient().get("/health/ready")

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["broker"]["broker"] == "rabbitmq"
    assert "guest" not in response.content.decode()  # the broker URL's credentials are never shown
    assert checks["queues"]["pending"] == {"celery": 0, "tryons": 0, "webhooks": 0, "bulk": 0}
    declared = queues_on_server(rabbitmq_broker)
    for name in ("celery", "tryons", "webhooks", "bulk"):
        assert declared[name] == ("quorum", "true")


def test_a_publish_the_broker_refuses_raises_instead_of_vanishing(rabbitmq_broker):
    # A quorum queue that holds one message and refuses more (it enforces the limit a message late): RabbitMQ
    # nacks the publish, and only a publisher waiting for confirms hears it.
    bounded = Queue(
        "bounded",
        Exchange("bounded", type="topic"),
        routing_key="bounded",
        queue_arguments={"x-queue-type": "quorum", "x-max-length": 1, "x-overflow": "reject-publish"},
    )
    with app.connection_for_write() as connection:
        producer = connection.Producer()
        with pytest.raises(MessageNacked):
            for n in range(5):
                producer.publish(
                    {"n": n}, exchange=bounded.exchange, routing_key="bounded", declare=[bounded]
                )
    # Without confirms the same refusals pass in silence: the messages are simply gone.
    with Connection(rabbitmq_broker) as connection:
        producer = connection.Producer()
        for n in range(5):
            producer.publish({"n": n}, exchange=bounded.exchange, routing_key="bounded", declare=[bounded])
    assert queues_on_server(rabbitmq_broker)["bounded"] == ("quorum", "true")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_plain_worker_consumes_every_queue_and_runs_countdown_tasks(rabbitmq_broker, tmp_path):
    env = {
        **os.environ,
        "CELERY_BROKER_URL": rabbitmq_broker,
        "DATABASE_URL": workers.worker_database_url(),
    }
    log = tmp_path / "worker.log"
    # The README's command (no -Q), with the concurrency spelled out for the prefetch check below.
    worker = workers.start_worker("-c", "2", "--loglevel", "INFO", env=env, log=log)
    try:
        cache.delete(health.CONSUMERS_CACHE_KEY)
        assert health.queues_consumed() == {"celery", "tryons", "webhooks", "bulk"}
        # Prefetch 1 per worker process: the render queue's consumer holds at most 2 unacknowledged renders.
        assert consumers_prefetch(rabbitmq_broker)["tryons"] == 2
        # A webhook retry is a countdown task: on quorum queues it travels through RabbitMQ's delayed
        # delivery exchanges and reaches the webhooks queue when due, not before.
        sent_at = time.monotonic()
        app.send_task("webhooks.dispatch_due_deliveries", countdown=2)
        wait_until(
            lambda: b"dispatch_due_deliveries" in log.read_bytes() and b"succeeded" in log.read_bytes(),
            timeout=30,
            interval=0.1,
            message="the countdown task never ran",
        )
        assert time.monotonic() - sent_at >= 2
        assert b"webhooks.dispatch_due_deliveries" in log.read_bytes()
    finally:
        workers.stop_worker(worker)
        print(log.read_text()[-3000:])
