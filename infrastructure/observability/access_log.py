"""The access log of LOG_FORMAT=json: one JSON line per request, written in batches like nginx's buffered
`access_log ... buffer= flush=`.

A line made through `logging` on the request thread cost ~40 µs of CPU there (record, filters, formatter
and a write per line, all cold in the middle of a request): 7 % of a partner read on its own
(bench/observability_overhead.py). So the request only appends its fields to a queue (well under a
microsecond), and a thread of each process writes what is queued every FLUSH_SECONDS, or as soon as
BATCH_MAX lines wait, in one write through the console handler (under its lock, so the lines never
interleave with other log lines), and at exit. A process killed with SIGKILL loses at most its last second
of access lines, as nginx would; error lines, written by `logging` at once, are not delayed.
The lines hold ids, a route template, a method, a status, a duration and an auth outcome: nothing to redact.
"""

import atexit
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime

from config.logging_settings import ACCESS_LOGGER

FLUSH_SECONDS = 1.0
BATCH_MAX = 500

_queued: deque = deque()  # append and popleft are atomic: no lock on the request path
_wake = threading.Event()
_writer_lock = threading.Lock()
_writer_pid: int | None = None


def access_line_record(
    *,
    request_id: str | None,
    organization_id: str | None,
    key_id: str | None,
    route: str,
    method: str,
    status: int,
    duration_ms: float,
    auth: str,
) -> None:
    _queued.append(
        (time.time(), request_id, organization_id, key_id, route, method, status, duration_ms, auth)
    )
    if _writer_pid != os.getpid():
        _writer_start()
    if len(_queued) >= BATCH_MAX:
        _wake.set()


def access_lines_flush() -> int:
    """Write every queued line now; returns how many. Thread-safe (the writer thread and atexit call it)."""
    lines = []
    while True:
        try:
            created, request_id, organization_id, key_id, route, method, status, duration, auth = (
                _queued.popleft()
            )
        except IndexError:
            break
        lines.append(
            json.dumps(
                {
                    "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
                    "level": "INFO",
                    "logger": ACCESS_LOGGER,
                    "message": "request",
                    "request_id": request_id,
                    "organization_id": organization_id,
                    "key_id": key_id,
                    "route": route,
                    "method": method,
                    "status": status,
                    "duration_ms": duration,
                    "auth": auth,
                }
            )
        )
    if lines:
        _write("\n".join(lines) + "\n")
    return len(lines)


def _write(text: str) -> None:
    handler = _console_handler()
    if handler is None:
        sys.stderr.write(text)
        return
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    finally:
        handler.release()


def _console_handler() -> logging.StreamHandler | None:
    """The stream handler the access logger's lines would reach (the project's console handler)."""
    logger: logging.Logger | None = logging.getLogger(ACCESS_LOGGER)
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                return handler
        logger = logger.parent if logger.propagate else None
    return None


def _writer_start() -> None:
    """Start the writing thread once per process (threads do not survive gunicorn's fork)."""
    global _writer_pid
    with _writer_lock:
        if _writer_pid == os.getpid():
            return
        _writer_pid = os.getpid()
    threading.Thread(target=_writer_loop, name="access-log-writer", daemon=True).start()


def _writer_loop() -> None:
    while True:
        _wake.wait(FLUSH_SECONDS)
        _wake.clear()
        access_lines_flush()


atexit.register(access_lines_flush)
