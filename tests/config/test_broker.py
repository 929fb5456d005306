"""The embedded Celery broker (infrastructure/broker.py): a consumer never sees a half-written message."""

import os
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from infrastructure import broker

ROOT = Path(__file__).resolve().parents[2]


class SlowToSerialize(dict):
    """A message body whose JSON encoding pauses half-way until the test lets it go on.

    json encodes a dict subclass through its items(), so this holds the producer inside `_put` at the moment
    the bytes of the message are being produced.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = threading.Event()
        self.proceed = threading.Event()

    def items(self):
        self.started.set()
        assert self.proceed.wait(10)
        return super().items()


@pytest.fixture
def folders(tmp_path):
    for name in ("queue", "control", "processed"):
        (tmp_path / name).mkdir()
    return {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "control_folder": str(tmp_path / "control"),
        "processed_folder": str(tmp_path / "processed"),
        "store_processed": False,
    }


def channel_on(folders, transport):
    connection = Connection("filesystem://", transport=transport, transport_options=folders)
    return connection, connection.channel()


def test_the_embedded_celery_app_connects_through_the_atomic_transport(tmp_path):
    # A fresh process with nothing set, as `make run` starts the web process and the worker.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_"))}
    code = (
        "import django; django.setup(); from config.celery import app; "
        "print(type(app.connection_for_write().transport).__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "GARMAX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "infrastructure.broker"


def test_a_message_being_written_is_invisible_to_the_consumer_until_complete(folders):
    producer_connection, producer = channel_on(folders, broker.Transport)
    consumer_connection, consumer = channel_on(folders, broker.Transport)
    body = SlowToSerialize({"task": "tryons.process_cart_session", "args": ["cts_1"]})
    writer = threading.Thread(target=producer._put, args=("tryons", body))
    writer.start()
    try:
        assert body.started.wait(10)
        # kombu's own transport has already created the file here, empty: its consumer raises JSONDecodeError.
        with pytest.raises(Empty):
            consumer._get("tryons")
    finally:
        body.proceed.set()
        writer.join(10)
    assert consumer._get("tryons") == {"task": "tryons.process_cart_session", "args": ["cts_1"]}
    with pytest.raises(Empty):
        consumer._get("tryons")
    producer_connection.release()
    consumer_connection.release()


def test_every_message_is_delivered_once_and_no_temporary_file_is_left(folders, tmp_path):
    connection, channel = channel_on(folders, broker.Transport)
    for n in range(5):
        channel._put("celery", {"n": n})
    assert channel._size("celery") == 5
    assert sorted(channel._get("celery")["n"] for _ in range(5)) == [0, 1, 2, 3, 4]
    assert list((tmp_path / "queue").iterdir()) == []
    connection.release()


def test_a_new_exchange_table_is_never_read_empty_and_keeps_every_binding(folders):
    connection, channel = channel_on(folders, broker.Transport)
    channel._queue_bind("celery.pidbox", "", "", "worker-1")
    channel._queue_bind("celery.pidbox", "", "", "worker-2")
    assert [entry.queue for entry in channel.get_table("celery.pidbox")] == ["worker-2", "worker-1"]
    connection.release()


def _round_trip(options, payload):
    """Put one message on the `tryons` queue and take it back, through the transport the settings name."""
    with Connection(
        "filesystem://", transport="infrastructure.broker:Transport", transport_options=options
    ) as conn:
        queue = conn.SimpleQueue("tryons")
        queue.put(payload)
        message = queue.get(timeout=5)
        message.ack()
        queue.close()
    return message.payload


def test_a_celery_task_travels_through_the_embedded_broker(folders):
    # The whole kombu path (exchange table, routing, serialization) on the transport the settings name.
    assert _round_trip(folders, {"sessionId": "cts_1"}) == {"sessionId": "cts_1"}


def test_a_binding_the_process_already_knows_is_written_to_a_new_control_folder(tmp_path, folders):
    # kombu remembers bindings process-wide; a second set of folders (or a cleaned var/) must still route.
    other = {}
    for key, path in folders.items():
        other[key] = path if key == "store_processed" else str(tmp_path / "other" / Path(path).name)
        if key != "store_processed":
            Path(other[key]).mkdir(parents=True, exist_ok=True)
    for options in (other, folders):
        assert _round_trip(options, {"sessionId": "cts_2"}) == {"sessionId": "cts_2"}
