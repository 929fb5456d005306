"""The client address: X-Forwarded-For is believed only through the proxies in TRUSTED_PROXIES."""

import pytest
from django.test import RequestFactory

from api.client_address import client_address

LOAD_BALANCER = "10.0.0.5"


def address(remote_addr, forwarded_for=None):
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert address("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_through_a_trusted_proxy_the_client_is_the_last_hop_it_appended(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert address(LOAD_BALANCER, "203.0.113.9") == "203.0.113.9"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert address("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_what_the_client_wrote_before_the_proxy_is_not_believed(settings):
    """The client sends `X-Forwarded-For: 1.2.3.4`; the balancer appends the address it saw."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert address(LOAD_BALANCER, "1.2.3.4, 203.0.113.9") == "203.0.113.9"


def test_several_trusted_hops_are_walked_right_to_left(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "192.168.1.1"]
    assert address(LOAD_BALANCER, "1.2.3.4, 203.0.113.9, 192.168.1.1, 10.0.0.8") == "203.0.113.9"


def test_when_every_hop_is_trusted_the_first_one_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(LOAD_BALANCER, "10.1.2.3, 10.0.0.8") == "10.1.2.3"


def test_a_malformed_hop_stops_the_walk_at_the_last_trusted_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert address(LOAD_BALANCER, "203.0.113.9, garbage") == LOAD_BALANCER


@pytest.mark.parametrize(
    "hop,expected",
    [
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8::7", "2001:db8::7"),
    ],
)
def test_ports_and_ipv6_hops_are_understood(settings, hop, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/8"]
    assert address(LOAD_BALANCER, hop) == expected
    assert address("fd00::1", hop) == expected


def test_a_missing_peer_address_is_unknown(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="")) == "unknown"


def test_ssl_redirect_spares_the_load_balancer_health_checks(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/health").status_code == 200
    redirected = client.get("/api/docs")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    proxied = client.get("/api/docs", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
