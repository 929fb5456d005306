"""The total wall-clock deadline of an outbound HTTP request (connect, TLS, headers and body included).

requests' timeouts bound each socket operation, so a peer sending one byte a second never trips them.
Every outbound request therefore runs under a `Deadline`: when the budget is spent, a watchdog thread
shuts down every socket the request opened or reused. The blocked read (connect and TLS handshake included)
returns at once, and the caller reports the request as too slow whatever the read returned.
Used by infrastructure/outbound.py (garment downloads, webhook deliveries) and the http renderer.
"""

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time

import requests
import urllib3
from requests.adapters import HTTPAdapter


# The errors of an outbound request (infrastructure/outbound.py re-exports them); here because a spent
# deadline
# raises OutboundFailed.
class OutboundBlocked(Exception):
    """The target is not allowed (scheme, credentials, private address, redirect)."""


class OutboundFailed(Exception):
    """The target was allowed but the request failed (network error, timeout, too large, bad status)."""


class OutboundRejected(OutboundFailed):
    """The target answered, but asking again cannot help: a 4xx status or a body over the size limit."""


_current = threading.local()


class Deadline:
    """One request's wall-clock budget; use as a context manager around the request and its body read.

    It cuts only connections of sessions built on `DeadlineAdapter`: `deadline_session()` here and the
    guarded sessions of infrastructure/outbound.py.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._lock = threading.Lock()
        # Our own duplicates of the connections' descriptors: shutting one down ends the connection for
        # every descriptor, and never touches a descriptor number the connection may have closed and reused.
        # (A connection may be watched twice, e.g. before and after its TLS handshake: harmless.)
        self._watched: list[socket.socket] = []

    def __enter__(self) -> "Deadline":
        _current.deadline = self
        _watchdog.add(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _current.deadline = None
        with self._lock:
            self.finished = True
            for watched in self._watched:
                watched.close()
            self._watched.clear()

    def timeouts(self) -> tuple[float, float]:
        """(connect, read) socket timeouts for the next call: never beyond what is left of the budget."""
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            self.expire()
            raise OutboundFailed(self.message)
        return min(5.0, remaining), remaining

    @property
    def message(self) -> str:
        return f"Request took longer than {self.seconds:g} s."

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            try:
                watched = socket.fromfd(sock.fileno(), sock.family, sock.type)
            except OSError:  # already closed: nothing left to cut
                return
            self._watched.append(watched)
            if self.expired:
                _shutdown(watched)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for watched in self._watched:
                _shutdown(watched)


class _Watchdog:
    """One thread per process expires every running deadline on time.

    A timer thread per request would cost about as much as a keep-alive webhook delivery itself.
    A finished deadline stays in the heap until its time comes or the next clean-up, and is never expired.
    """

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # threads do not survive a fork (Celery prefork)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._condition:
            order = next(self._order)
            if order % 1024 == 0:  # drop finished ones now and then, so the heap holds about the running ones
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
            wake = not self._heap or deadline.ends < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.ends, order, deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbound-deadlines", daemon=True)
                self._thread.start()
            elif wake:
                self._condition.notify()

    def _run(self) -> None:
        condition = self._condition
        while True:
            due = []
            with condition:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    condition.wait(self._heap[0][0] - now if self._heap else None)
            for deadline in due:
                deadline.expire()


_watchdog = _Watchdog()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def current_deadline() -> Deadline | None:
    """The deadline running in this thread, if any (infrastructure/outbound.py bounds its name look-ups by
    it)."""
    return getattr(_current, "deadline", None)


def _watch(sock: socket.socket | None) -> None:
    deadline = current_deadline()
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedConnection:
    """Registers its socket with the running request's deadline: when opened, and when reused."""

    def _new_conn(self):
        sock = super()._new_conn()
        _watch(sock)  # before the TLS handshake, which a slow peer can drag out too
        return sock

    def request(self, *args, **kwargs):
        _watch(self.sock)
        return super().request(*args, **kwargs)


class _HTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections that the running request's deadline can cut."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


def deadline_session() -> requests.Session:
    """A plain session whose requests a running `Deadline` can cut, for operator-configured targets (the http
    renderer) that may sit on a private network: no address or scheme rules, redirects are the caller's."""
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    return session
