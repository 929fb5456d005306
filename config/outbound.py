"""Outbound HTTP (garment downloads, webhook deliveries, the http renderer) guarded against SSRF.

requests-hardened resolves the host once, refuses private, loopback, link-local and other reserved
addresses, and connects to exactly the address it checked, so DNS rebinding between check and connect
does not work. On top of that: https only, no credentials in URLs, redirects re-checked hop by hop (or
refused), bounded body size and time. `OUTBOUND_ALLOW_PRIVATE_NETWORKS=true` lifts the address and
scheme rules for local development and tests only.
"""

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress

USER_AGENT = "GarmaxAI-Enterprise/1.0 (+https://garmaxai.com)"
MAX_REDIRECTS = 3


class OutboundBlocked(Exception):
    """The target is not allowed (scheme, credentials, private address, redirect)."""


class OutboundFailed(Exception):
    """The target was allowed but the request failed (network error, timeout, too large, bad status)."""


class OutboundRejected(OutboundFailed):
    """The target answered, but asking again cannot help: a 4xx status or a body over the size limit."""


def _allow_private() -> bool:
    return bool(settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS)


def _session(timeout: float) -> requests.Session:
    allow_private = _allow_private()
    manager = Manager(
        Config(
            ip_filter_enable=not allow_private,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,  # we follow redirects ourselves so each hop is re-checked
            default_timeout=(min(5.0, timeout), timeout),
            user_agent_override=USER_AGENT,
        )
    )
    return manager.get_session()


def _is_public_ip(value: str) -> bool:
    ip = ipaddress.ip_address(value)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, resolve: bool = True) -> None:
    """Raise OutboundBlocked unless `url` is an acceptable outbound target.

    With `resolve`, a hostname is looked up and every address must be public: this catches a bad target at
    create time with a clear error. The connect-time check in the session is what actually protects us.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundBlocked("URL is malformed.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundBlocked("URL must be an absolute http(s) URL.")
    if parts.username or parts.password:
        raise OutboundBlocked("URL must not contain credentials.")
    if _allow_private():
        return
    if parts.scheme != "https":
        raise OutboundBlocked("URL must use https.")
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _is_public_ip(host):
            raise OutboundBlocked("URL points to a private, loopback or reserved address.")
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise OutboundBlocked("URL points to a private host name.")
    if resolve:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise OutboundBlocked("URL host name does not resolve.") from None
        if not infos or not all(_is_public_ip(info[4][0]) for info in infos):
            raise OutboundBlocked("URL host name resolves to a private, loopback or reserved address.")


def fetch_bytes(
    url: str, *, max_bytes: int, timeout: float, follow_redirects: bool = True
) -> tuple[bytes, str]:
    """GET `url` and return (body, content type), refusing unsafe targets and bodies over `max_bytes`.

    Every hop (the first and each redirect) passes `check_url`, and the hardened session refuses to connect
    to a non-public address whatever DNS answers at connect time. `timeout` bounds each socket operation and
    also the whole download, so a server trickling one byte a second cannot hold a worker for long.
    Raises OutboundBlocked (target refused), OutboundRejected (4xx, too large) or OutboundFailed (retryable).
    """
    deadline = time.monotonic() + timeout
    session = _session(timeout)
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, resolve=False)
            try:
                response = session.get(current, stream=True, timeout=(min(5.0, timeout), timeout))
            except InvalidIPAddress:
                raise OutboundBlocked("URL resolves to a private, loopback or reserved address.") from None
            except requests.RequestException as exc:
                raise OutboundFailed(f"Request failed: {type(exc).__name__}") from None
            with response:
                if response.is_redirect:
                    if not follow_redirects:
                        raise OutboundBlocked("Redirects are not followed.")
                    current = urljoin(current, response.headers.get("Location", ""))
                    continue
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    raise OutboundRejected(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise OutboundFailed(f"HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise OutboundRejected(f"Body is larger than {max_bytes} bytes.")
                body = bytearray()
                try:
                    for chunk in response.iter_content(64 * 1024):
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise OutboundRejected(f"Body is larger than {max_bytes} bytes.")
                        if time.monotonic() > deadline:
                            raise OutboundFailed(f"Download took longer than {timeout:g} s.")
                except requests.RequestException as exc:
                    raise OutboundFailed(f"Download failed: {type(exc).__name__}") from None
                return bytes(body), response.headers.get("Content-Type", "")
        raise OutboundBlocked(f"More than {MAX_REDIRECTS} redirects.")
    finally:
        session.close()


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
        key = (_allow_private(), parts.scheme, parts.hostname, parts.port, timeout)
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

    The response body is read within `timeout` of wall-clock time (a server dripping bytes cannot hold a
    worker beyond it) and, with `max_response_bytes`, only that much of it is read and kept. With
    `keep_alive` the connection is kept for this thread's next request to the same origin (webhook
    deliveries send many small requests to few hosts; a new connection, and in production a TLS handshake,
    for each of them costs more than the request itself).
    A connection whose response was not read to the end is closed, never reused.
    """
    check_url(url, resolve=False)
    session = _pool.get(url, timeout) if keep_alive else _session(timeout)
    deadline = time.monotonic() + timeout
    try:
        response = session.post(
            url,
            data=data,
            headers=headers,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,
        )
        with response:
            body = bytearray()
            for chunk in response.iter_content(8 * 1024):
                body.extend(chunk)
                if max_response_bytes is not None and len(body) >= max_response_bytes:
                    del body[max_response_bytes:]
                    break
                if time.monotonic() > deadline:
                    raise OutboundFailed("Response body took longer than the timeout.")
            response._content = bytes(body)
        return response
    except InvalidIPAddress:
        raise OutboundBlocked("URL resolves to a private, loopback or reserved address.") from None
    except requests.RequestException as exc:
        raise OutboundFailed(f"Request failed: {type(exc).__name__}") from None
    finally:
        if not keep_alive:
            session.close()
