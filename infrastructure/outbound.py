"""Outbound HTTP (garment downloads, webhook deliveries, the http renderer) guarded against SSRF.

requests-hardened resolves the host once, refuses private, loopback, link-local and other reserved
addresses, and connects to exactly the address it checked, so DNS rebinding between check and connect
does not work. On top of that: https only, no credentials in URLs, redirects re-checked hop by hop (or
refused), bounded body size, and a total wall-clock deadline per request (connect, headers and body).
`OUTBOUND_ALLOW_PRIVATE_NETWORKS=true` lifts the address and scheme rules for local development and tests
only.
"""

import contextlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urljoin, urlsplit

import requests
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from api.numbers import whole_number

# The deadline and the outbound errors live in infrastructure/deadline.py; their names stay importable from
# here.
from infrastructure.deadline import (
    Deadline,
    DeadlineAdapter,
    OutboundBlocked,
    OutboundFailed,
    OutboundRejected,
    current_deadline,
    deadline_session,
)
from infrastructure.observability import metrics

# Which targets are acceptable lives in infrastructure/public_addresses.py; check_url stays importable here.
from infrastructure.public_addresses import check_url, is_public_ip, private_networks_allowed

__all__ = [
    "Deadline",
    "OutboundBlocked",
    "OutboundFailed",
    "OutboundRejected",
    "check_url",
    "deadline_session",
    "fetch_bytes",
    "post",
    "request",
]

USER_AGENT = "GarmaxAI-Enterprise/1.0 (+https://garmaxai.com)"
MAX_REDIRECTS = 3
RESOLVES_TO_PRIVATE = "URL resolves to a private, loopback or reserved address."


class _GuardedAdapter(DeadlineAdapter, IPFilterAdapter):
    """The hardened adapter (resolve once, check, connect to the checked address) with our stricter check.

    requests-hardened refuses `is_private` addresses; that lets through IPv4-compatible IPv6 (`::127.0.0.1`),
    site-local `fec0::/10` and others that are not globally routable, so the address it settled on is
    checked again with `is_public_ip` before anything connects to it.
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        # requests-hardened looks the host up in here: getaddrinfo has no timeout of its own and no socket
        # the deadline's watchdog could cut, so the look-up runs on a helper thread for at most what is
        # left of the request's deadline (a name server that never answers costs the deadline, no more).
        host_params, pool_kwargs = _within_deadline(
            super().build_connection_pool_key_attributes, request, verify, cert
        )
        if not is_public_ip(host_params["host"].strip("[]")):
            raise InvalidIPAddress(host_params["host"])
        return host_params, pool_kwargs


class _LookupThreads:
    """This process's threads for name look-ups (a pool per process: threads do not survive a fork)."""

    SIZE = 16

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self.pool: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def submit(self, call, *args) -> Future:
        with self.lock:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(self.SIZE, thread_name_prefix="outbound-lookup")
        return self.pool.submit(call, *args)


_lookup_threads = _LookupThreads()


def _within_deadline(call, *args):
    """`call(*args)`, given up with OutboundFailed when the running deadline is spent first."""
    deadline = current_deadline()
    if deadline is None:
        return call(*args)
    _, remaining = deadline.timeouts()  # raises OutboundFailed when nothing is left
    future = _lookup_threads.submit(call, *args)
    try:
        return future.result(timeout=remaining)
    except FutureTimeout:
        future.cancel()  # still queued: never runs; running: its answer is dropped
        deadline.expire()
        raise OutboundFailed(deadline.message) from None


def _session(timeout: float) -> requests.Session:
    allow_private = private_networks_allowed()
    manager = Manager(
        Config(
            ip_filter_enable=False,  # our own subclass of its filtering adapter is mounted below
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,  # we follow redirects ourselves so each hop is re-checked
            default_timeout=(min(5.0, timeout), timeout),
            user_agent_override=USER_AGENT,
        )
    )
    session = manager.get_session()
    # The environment is read once here, not on every request (requests' trust_env): that per-request scan
    # for proxies and ~/.netrc was ~15 % of a webhook delivery's CPU (bench/README.md). Proxies from
    # HTTPS_PROXY are not used (the guard checks the address it connects to, which a proxy would hide) and
    # no ~/.netrc credentials go to partner URLs; a CA bundle named by REQUESTS_CA_BUNDLE still applies.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    if allow_private:
        session.mount("http://", DeadlineAdapter())
        session.mount("https://", DeadlineAdapter())
    else:
        session.mount("http://", _GuardedAdapter(is_https_proto=False, allow_loopback=False))
        session.mount("https://", _GuardedAdapter(is_https_proto=True, allow_loopback=False))
    return session


# A validator (ETag, Last-Modified) is kept only when short and printable: the next conditional GET sends it.
VALIDATOR_MAX_LENGTH = 200


@dataclass(frozen=True)
class Fetched:
    """A GET's outcome: the body (empty when `not_modified`), its content type and the cache validators."""

    body: bytes
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def fetch_bytes(
    url: str, *, max_bytes: int, timeout: float, follow_redirects: bool = True
) -> tuple[bytes, str]:
    """GET `url` and return (body, content type), refusing unsafe targets and bodies over `max_bytes`.

    Every hop (the first and each redirect) passes `check_url`, and the hardened session refuses to connect
    to a non-public address whatever DNS answers at connect time. `timeout` is the wall-clock budget of the
    whole download, redirects, connects, headers and body included: a server trickling one byte a second
    is cut off when it is spent.
    Raises OutboundBlocked (target refused), OutboundRejected (4xx, too large) or OutboundFailed (retryable).
    """
    fetched = fetch(url, max_bytes=max_bytes, timeout=timeout, follow_redirects=follow_redirects)
    return fetched.body, fetched.content_type


def fetch(
    url: str, *, max_bytes: int, timeout: float, follow_redirects=True, etag="", last_modified=""
) -> Fetched:
    """`fetch_bytes` with the response's validators; given the validators of a copy we hold, a conditional
    GET (If-None-Match, If-Modified-Since) whose 304 answers `not_modified` with no body."""
    session = _session(timeout)
    conditional = {
        name: value
        for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified))
        if _validator(value)
    }
    current = url
    try:
        with Deadline(timeout) as deadline, _refusals_counted("GET"):
            for _ in range(MAX_REDIRECTS + 1):
                check_url(current, resolve=False)
                try:
                    # A copy: the session adds its own headers to the dict it is given.
                    response = session.get(
                        current, stream=True, timeout=deadline.timeouts(), headers=dict(conditional)
                    )
                except InvalidIPAddress:
                    raise OutboundBlocked(RESOLVES_TO_PRIVATE) from None
                except requests.RequestException as exc:
                    raise OutboundFailed(_failure("Request failed", exc, deadline)) from None
                with response:
                    # Cut off mid-headers, http.client takes what arrived as all of them: trust none.
                    if deadline.expired:
                        raise OutboundFailed(deadline.message)
                    if response.is_redirect:
                        if not follow_redirects:
                            raise OutboundBlocked("Redirects are not followed.")
                        current = urljoin(current, response.headers.get("Location", ""))
                        continue
                    validators = {
                        "etag": _validator(response.headers.get("ETag", "")),
                        "last_modified": _validator(response.headers.get("Last-Modified", "")),
                    }
                    if response.status_code == 304 and conditional:
                        return Fetched(b"", not_modified=True, **validators)
                    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                        raise OutboundRejected(f"HTTP {response.status_code}")
                    if response.status_code >= 400:
                        raise OutboundFailed(f"HTTP {response.status_code}")
                    body = _body(response, max_bytes, deadline)
                    return Fetched(body, response.headers.get("Content-Type", ""), **validators)
            raise OutboundBlocked(f"More than {MAX_REDIRECTS} redirects.")
    finally:
        session.close()


def _body(response: requests.Response, max_bytes: int, deadline: Deadline) -> bytes:
    """The whole body, refused over `max_bytes` (declared or counted) or when the deadline cut it."""
    declared = whole_number(response.headers.get("Content-Length"))
    if declared is not None and declared > max_bytes:
        raise OutboundRejected(f"Body is larger than {max_bytes} bytes.")
    body = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            body.extend(chunk)
            if len(body) > max_bytes:
                raise OutboundRejected(f"Body is larger than {max_bytes} bytes.")
    except requests.RequestException as exc:
        raise OutboundFailed(_failure("Download failed", exc, deadline)) from None
    # A connection cut by the deadline can look like a complete body: never trust it.
    if deadline.expired:
        raise OutboundFailed(deadline.message)
    return bytes(body)


def _validator(value: str) -> str:
    """The validator as sent, or "" when it is too long or holds anything but printable ASCII."""
    if value and len(value) <= VALIDATOR_MAX_LENGTH and value.isascii() and value.isprintable():
        return value
    return ""


@contextlib.contextmanager
def _refusals_counted(method: str):
    """Count the guard's refusals of a request about to leave (not the URL checks at validation time)."""
    try:
        yield
    except OutboundBlocked:
        metrics.outbound_refused(method=method)
        raise


def _failure(what: str, exc: Exception, deadline: Deadline) -> str:
    return deadline.message if deadline.expired else f"{what}: {type(exc).__name__}"


class _SessionPool(threading.local):
    """Keep-alive sessions of this thread, one per origin, least recently used evicted first.

    Per thread, so no session is ever shared between threads. Reuse does not weaken the SSRF guard: the
    hardened adapter resolves and checks the host on every request and keys its connection pool by the
    checked address, so a host that now resolves elsewhere gets a new, re-checked connection. Cookies are
    refused, so nothing one response sets is ever sent with a later request.
    """

    MAX_ORIGINS = 32

    def __init__(self):
        self.sessions: OrderedDict[tuple, requests.Session] = OrderedDict()

    def get(self, url: str, timeout: float) -> requests.Session:
        parts = urlsplit(url)
        key = (private_networks_allowed(), parts.scheme, parts.hostname, parts.port, timeout)
        session = self.sessions.pop(key, None)
        if session is None:
            session = _session(timeout)
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            while len(self.sessions) >= self.MAX_ORIGINS:
                self.sessions.popitem(last=False)[1].close()
        self.sessions[key] = session
        return session


_pool = _SessionPool()


def post(
    url: str,
    *,
    data: bytes,
    headers: dict,
    timeout: float,
    max_response_bytes: int | None = None,
    keep_alive: bool = False,
) -> requests.Response:
    """POST without following redirects (a 3xx is the caller's failure). Raises OutboundBlocked/Failed.

    `timeout` is the wall-clock budget of the whole exchange, connect, headers and body included (a server
    dripping bytes cannot hold a worker beyond it); with `max_response_bytes`, only that much of the body
    is read and kept. With
    `keep_alive` the connection is kept for this thread's next request to the same origin (webhook
    deliveries send many small requests to few hosts; a new connection, and in production a TLS handshake,
    for each of them costs more than the request itself).
    A connection whose response was not read to the end is closed, never reused.
    """
    with _refusals_counted("POST"):
        check_url(url, resolve=False)
    session = _pool.get(url, timeout) if keep_alive else _session(timeout)
    try:
        with Deadline(timeout) as deadline, _refusals_counted("POST"):
            try:
                response = session.post(
                    url,
                    data=data,
                    headers=headers,
                    timeout=deadline.timeouts(),
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    if deadline.expired:  # cut off mid-headers: what arrived is not the answer
                        raise OutboundFailed(deadline.message)
                    body = bytearray()
                    for chunk in response.iter_content(8 * 1024):
                        body.extend(chunk)
                        if max_response_bytes is not None and len(body) >= max_response_bytes:
                            del body[max_response_bytes:]
                            break
                    response._content = bytes(body)
            except InvalidIPAddress:
                raise OutboundBlocked(RESOLVES_TO_PRIVATE) from None
            except requests.RequestException as exc:
                raise OutboundFailed(_failure("Request failed", exc, deadline)) from None
            # A connection cut by the deadline can look like a complete answer: never trust it.
            if deadline.expired:
                raise OutboundFailed(deadline.message)
        return response
    finally:
        if not keep_alive:
            session.close()


def request(
    method: str,
    url: str,
    *,
    headers: dict,
    timeout: float,
    max_response_bytes: int,
    data: bytes | None = None,
) -> requests.Response:
    """One API call (hosted try-on engines: submit, status, result, cancel) through the guard.

    Redirects are never followed (a provider API that redirects is answering wrongly, and following could
    carry its credentials elsewhere). `timeout` is the wall-clock budget of the whole exchange. A body over
    `max_response_bytes` is OutboundRejected: an API answer that large is not one we can trust or store.
    Raises OutboundBlocked (target refused), OutboundRejected (too large) or OutboundFailed (retryable).
    """
    with _refusals_counted(method.upper()):
        check_url(url, resolve=False)
    session = _session(timeout)
    try:
        with Deadline(timeout) as deadline, _refusals_counted(method.upper()):
            try:
                response = session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=deadline.timeouts(),
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    if deadline.expired:  # cut off mid-headers: what arrived is not the answer
                        raise OutboundFailed(deadline.message)
                    response._content = _body(response, max_response_bytes, deadline)
            except InvalidIPAddress:
                raise OutboundBlocked(RESOLVES_TO_PRIVATE) from None
            except requests.RequestException as exc:
                raise OutboundFailed(_failure("Request failed", exc, deadline)) from None
            # A connection cut by the deadline can look like a complete answer: never trust it.
            if deadline.expired:
                raise OutboundFailed(deadline.message)
        return response
    finally:
        session.close()
