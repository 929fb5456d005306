"""Which outbound targets are acceptable: public, globally routable addresses only, over https, with no
credentials in the URL. `OUTBOUND_ALLOW_PRIVATE_NETWORKS=true` lifts the address and scheme rules for local
development and tests only. infrastructure/outbound.py checks the address it connects to with the same rule.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

from infrastructure.deadline import OutboundBlocked


def private_networks_allowed() -> bool:
    return bool(settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS)


# Ranges `is_global` lets through on some Python versions although they are not somewhere we may connect:
# deprecated forms (IPv4-compatible, site-local) and the ones that embed or translate to an IPv4 address
# that may be private (NAT64, 6to4, Teredo), plus what requests-hardened blocks on top of `is_private`.
_NOT_PUBLIC = (
    ipaddress.ip_network("::/96"),  # IPv4-compatible IPv6, e.g. ::127.0.0.1 (deprecated, RFC 4291)
    ipaddress.ip_network("fec0::/10"),  # site-local (deprecated, RFC 3879)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 local use (RFC 8215)
    ipaddress.ip_network("2002::/16"),  # 6to4 (RFC 3056)
    ipaddress.ip_network("2001::/32"),  # Teredo (RFC 4380)
    ipaddress.ip_network("100::/64"),  # discard-only (RFC 6666)
    *EXTRA_BLOCKED_NET_RANGES,
)


def is_public_ip(value: str) -> bool:
    """True only for a globally routable unicast address (an IPv4-mapped IPv6 address is judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6 and ip.scope_id:
        return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not any(ip.version == net.version and ip in net for net in _NOT_PUBLIC)
    )


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
    if private_networks_allowed():
        return
    if parts.scheme != "https":
        raise OutboundBlocked("URL must use https.")
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not is_public_ip(host):
            raise OutboundBlocked("URL points to a private, loopback or reserved address.")
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise OutboundBlocked("URL points to a private host name.")
    if resolve:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise OutboundBlocked("URL host name does not resolve.") from None
        if not infos or not all(is_public_ip(info[4][0]) for info in infos):
            raise OutboundBlocked("URL host name resolves to a private, loopback or reserved address.")
