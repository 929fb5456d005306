"""Polling traffic spread over web containers, as a load balancer with health-based rotation sends it.

Each request goes to the next port in the rotation. `drain(port)` takes a port out of the rotation (as a
balancer does when a node's readiness fails or it is deregistered) and waits until its requests in flight
have answered; `restore(port)` puts it back. Every request that fails (an error status or no answer) is
counted with its reason: a rolling replacement passes when none did.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable

import requests


class Traffic:
    def __init__(
        self,
        ports: list[int],
        request: Callable[[requests.Session, int], requests.Response],
        *,
        threads: int = 4,
    ):
        self.rotation = list(ports)
        self._request = request
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self._lock = threading.Lock()
        self._next = itertools.count()
        self._stop = threading.Event()
        self.in_flight: Counter[int] = Counter()
        self.served: Counter[int] = Counter()
        self.failures: list[str] = []

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _pick(self) -> int | None:
        with self._lock:
            if not self.rotation:
                return None
            port = self.rotation[next(self._next) % len(self.rotation)]
            self.in_flight[port] += 1
            return port

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            port = self._pick()
            if port is None:
                time.sleep(0.01)
                continue
            try:
                response = self._request(session, port)
                if response.status_code != 200:
                    self._fail(f"{port}: {response.status_code} {response.text[:200]}")
            except requests.RequestException as exc:
                self._fail(f"{port}: {exc!r}")
            finally:
                with self._lock:
                    self.in_flight[port] -= 1
                    self.served[port] += 1

    def _fail(self, reason: str) -> None:
        with self._lock:
            self.failures.append(reason)

    def drain(self, port: int, *, timeout: float = 30) -> None:
        with self._lock:
            self.rotation.remove(port)
        deadline = time.monotonic() + timeout
        while self.in_flight[port] > 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"port {port} still has {self.in_flight[port]} requests in flight")
            time.sleep(0.01)

    def restore(self, port: int) -> None:
        with self._lock:
            self.rotation.append(port)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.served.values())
