"""The address of the client that sent a request, seen through the proxies we trust.

gunicorn never rewrites REMOTE_ADDR: behind a load balancer it is the balancer's address, so every limit
keyed on it would be one bucket for the whole world. `X-Forwarded-For` carries the real client, but any
caller can write it, so it is read only through the proxies listed in TRUSTED_PROXIES (CIDRs): starting
from the peer (REMOTE_ADDR) and walking the header right to left, each hop that is a trusted proxy is
skipped, and the first one that is not is the client. A peer that is not a trusted proxy is the client
itself, whatever its header says, so a spoofed header picks nobody's bucket but the sender's.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str):
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443", as some proxies write IPv6
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234": an IPv4 address with its port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's address for `request` (a Django or DRF request), or "unknown" if there is none."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR") or ""
    proxies = settings.TRUSTED_PROXIES
    if not proxies:
        return peer or UNKNOWN  # the common, cheap case: no proxy in front, nothing to parse
    networks = _networks(tuple(proxies))
    current = _parse(peer)
    if current is None:
        return peer or UNKNOWN
    hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    while any(current in network for network in networks) and hops:
        previous = _parse(hops.pop())
        if previous is None:
            break  # a hop our own proxy wrote is malformed: stop at the last address we can trust
        current = previous
    return str(current)
