"""CELERY_BROKER_URL picks the broker (RabbitMQ or Redis; filesystem embedded); each gets the same queues and
routing, RabbitMQ durable quorum queues with publisher confirms. Redis stays the cache either way."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import broker_settings

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("celery", "tryons", "webhooks", "bulk")


def settings_in_fresh_process(tmp_path, **env) -> dict:
    """Import config.settings with only `env` (and a data dir) set; return what Celery and the cache get."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "RABBITMQ_"))
    }
    code = (
        "import json; from config import settings as s; print(json.dumps({"
        "'url': s.CELERY_BROKER_URL, 'kind': s.BROKER_KIND, 'cache': s.CACHES['default']['BACKEND'],"
        "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS,"
        "'queues': [[q.name, q.exchange.type, q.routing_key, q.durable, q.queue_arguments]"
        " for q in s.CELERY_TASK_QUEUES],"
        "'routes': s.CELERY_TASK_ROUTES, 'acks_late': s.CELERY_TASK_ACKS_LATE,"
        "'reject_on_worker_lost': s.CELERY_TASK_REJECT_ON_WORKER_LOST,"
        "'prefetch': s.CELERY_WORKER_PREFETCH_MULTIPLIER}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "GARMAX_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode:
        return {"error": result.stderr}
    return json.loads(result.stdout)


PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "DJANGO_SECRET_KEY": "broker-settings-test-secret-key-0123456789",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
}


def test_the_broker_defaults_to_redis_url_as_before(tmp_path):
    loaded = settings_in_fresh_process(tmp_path, **PRODUCTION)
    assert (loaded["url"], loaded["kind"]) == ("redis://127.0.0.1:6379/9", "redis")
    assert loaded["options"] == {"visibility_timeout": 600}
    assert [q[:3] for q in loaded["queues"]] == [[n, "direct", n] for n in NAMES]


def test_an_amqp_broker_url_gets_durable_quorum_queues_and_publisher_confirms_with_redis_still_the_cache(
    tmp_path,
):
    loaded = settings_in_fresh_process(
        tmp_path, **PRODUCTION, CELERY_BROKER_URL="amqp://garmax:secret@rabbit.internal:5672/garmax"
    )
    assert loaded["kind"] == "rabbitmq"
    assert loaded["url"] == "amqp://garmax:secret@rabbit.internal:5672/garmax"
    assert loaded["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["options"] == {"confirm_publish": True}
    # The same queue names and routing as on Redis, so a plain `celery -A config worker` consumes them all.
    assert loaded["queues"] == [[n, "topic", n, True, {"x-queue-type": "quorum"}] for n in NAMES]
    assert loaded["routes"] == {f"{n}.*": {"queue": n} for n in NAMES if n != "celery"}
    # A task is acknowledged once done, and requeued if its worker process dies; one prefetched per process.
    assert (loaded["acks_late"], loaded["reject_on_worker_lost"], loaded["prefetch"]) == (True, True, 1)


def test_classic_queues_for_rabbitmq_servers_without_quorum_queues(tmp_path):
    loaded = settings_in_fresh_process(
        tmp_path,
        **PRODUCTION,
        CELERY_BROKER_URL="amqps://rabbit.internal/garmax",
        RABBITMQ_QUEUE_TYPE="classic",
    )
    assert {q[4]["x-queue-type"] for q in loaded["queues"]} == {"classic"}


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CELERY_BROKER_URL", "kafka://broker:9092", "CELERY_BROKER_URL"),
        ("CELERY_BROKER_URL", "rabbit.internal:5672", "CELERY_BROKER_URL"),
        ("RABBITMQ_QUEUE_TYPE", "stream", "RABBITMQ_QUEUE_TYPE"),
    ],
)
def test_a_malformed_broker_setting_stops_start_up_naming_the_variable(tmp_path, variable, value, named):
    env = {**PRODUCTION, "CELERY_BROKER_URL": "amqp://rabbit.internal/", variable: value}
    loaded = settings_in_fresh_process(tmp_path, **env)
    assert "ImproperlyConfigured" in loaded["error"] and named in loaded["error"]
    assert "secret" not in loaded["error"]


def test_embedded_mode_keeps_the_filesystem_broker(tmp_path):
    loaded = settings_in_fresh_process(tmp_path)
    assert (loaded["url"], loaded["kind"]) == ("filesystem://", "filesystem")
    assert [q[:3] for q in loaded["queues"]] == [[n, "direct", n] for n in NAMES]


def test_the_broker_kind_never_echoes_the_url():
    with pytest.raises(ImproperlyConfigured) as error:
        broker_settings.broker_kind("http://user:hunter2@rabbit.internal")
    assert "hunter2" not in str(error.value)


def test_adding_a_queue_is_one_more_name():
    queues = broker_settings.task_queues((*NAMES, "imports"), kind="rabbitmq")
    imports = queues[-1]
    assert (imports.name, imports.routing_key, imports.exchange.name) == ("imports", "imports", "imports")
    assert imports.queue_arguments == {"x-queue-type": "quorum"} and imports.durable
