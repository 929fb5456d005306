"""The address `make run` serves on (`make run ADDR=host:port`): read as runserver reads it, and found free
before anything starts, so that a busy port is one clear line instead of a web process dying six times."""

import errno
import ipaddress
import socket
from dataclasses import dataclass

from django.core.management.base import CommandError
from django.core.management.commands.runserver import naiveip_re

DEFAULT_ADDR = "127.0.0.1:8000"
# Offered in place of a busy port: 8001 is left out, the README journey serves its garments there.
SPARE_PORTS = range(8080, 8100)
# A wildcard address listens everywhere; a browser on this machine reaches it through loopback.
_REACHED_AS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}  # noqa: S104 (read, not bound)
_HOST_PROBLEM = "cannot be served on: the host "


@dataclass(frozen=True)
class DemoAddress:
    host: str  # as runserver takes it: an IPv4 address, a host name, or an IPv6 address in brackets
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The printed links' and the signed media links' base (PUBLIC_BASE_URL)."""
        return f"http://{_REACHED_AS.get(self.host, self.host)}:{self.port}"


def demo_address_parse(value: str) -> DemoAddress:
    """`HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (on 127.0.0.1); CommandError naming ADDR otherwise."""
    match = naiveip_re.fullmatch(value.strip())
    port = int(match["port"]) if match else 0
    problem = None
    if match is None:
        problem = "it is not HOST:PORT"
    elif not 1 <= port <= 65535:
        problem = f"the port must be 1 to 65535, not {match['port']}"
    elif match["ipv4"] and not _is_ip(match["ipv4"], ipaddress.IPv4Address):
        problem = f"{match['ipv4']} is not an IPv4 address"
    elif match["ipv6"] and not _is_ip(match["ipv6"][1:-1], ipaddress.IPv6Address):
        problem = f"{match['ipv6']} is not an IPv6 address"
    if problem:
        raise CommandError(
            f"ADDR {value!r} cannot be served on: {problem}. "
            f"Give HOST:PORT or a port, e.g. make run ADDR=127.0.0.1:8080 (the default is {DEFAULT_ADDR})."
        )
    return DemoAddress(match["addr"] or "127.0.0.1", port)


def demo_address_check_free(address: DemoAddress) -> None:
    """Return if `address` can be listened on now; else CommandError saying why, with a free one to use.

    Probed as runserver binds (SO_REUSEADDR): a port the last run left in TIME_WAIT is free, a port some
    process listens on is not. Something may still take it in the moment before the web starts; the
    supervisor then reports that as it reports any death."""
    problem = _bind_problem(address)
    if problem is None:
        return
    # A spare port on the same host, or on loopback when the host itself is the problem.
    host = "127.0.0.1" if problem.startswith(_HOST_PROBLEM) else address.host
    spares = (DemoAddress(host, port) for port in SPARE_PORTS if port != address.port)
    spare = next((str(s) for s in spares if _bind_problem(s) is None), f"{host}:<another port>")
    raise CommandError(f"{address} {problem}; choose another address: make run ADDR={spare}")


def _bind_problem(address: DemoAddress) -> str | None:
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            address.host.strip("[]"), address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        return f"{_HOST_PROBLEM}{address.host} is not a name of this machine ({exc.strerror})"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is in use"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{_HOST_PROBLEM}{address.host} is not an address of this machine"
            if exc.errno == errno.EACCES:
                return "cannot be served on: ports below 1024 need root"
            return f"cannot be served on: {exc.strerror}"
    return None


def _is_ip(text: str, kind) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True
