"""SSRF: with OUTBOUND_ALLOW_PRIVATE_NETWORKS off, no private target is ever contacted.

The canary is a real local HTTP server that counts requests; every test asserts it received none. The one
thing mocked is a public shop answering with a redirect (we have no public host here): a transport adapter
mounted for https://shop.example/ only, so every later hop goes through the real hardened session.
What is downloaded is decoded only as JPEG, PNG or WebP (the tests at the end).
"""

import io
import socket
from decimal import Decimal

import pytest
import requests
import urllib3
from PIL import EpsImagePlugin
from requests.adapters import BaseAdapter

from infrastructure import outbound
from tests.images import image_bytes
from tryons import services
from tryons.renderers.base import PermanentRenderError


@pytest.fixture(autouse=True)
def private_networks_off(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False


def fetch(url):
    return outbound.fetch_bytes(url, max_bytes=5 * 1024 * 1024, timeout=3)


@pytest.mark.parametrize(
    "template",
    [
        "https://127.0.0.1:{port}/garment.png",
        "http://127.0.0.1:{port}/garment.png",
        "https://localhost:{port}/garment.png",
        "https://[::1]:{port}/garment.png",
        "https://[::ffff:127.0.0.1]:{port}/garment.png",
        "https://[::127.0.0.1]:{port}/garment.png",
        "https://[fec0::1]/garment.png",
        "https://[64:ff9b::7f00:1]:{port}/garment.png",
        "https://0.0.0.0:{port}/garment.png",
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://10.0.0.5/garment.png",
        "https://172.16.3.4/garment.png",
        "https://192.168.1.1/garment.png",
        "https://100.64.0.1/garment.png",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://user:pass@shop.example.com/garment.png",
    ],
)
def test_private_loopback_and_metadata_targets_are_never_fetched(garment_server, template):
    url = template.format(port=garment_server.port)
    with pytest.raises(outbound.OutboundBlocked):
        fetch(url)
    assert garment_server.hits == []


def test_hostname_resolving_to_loopback_is_refused_at_connect_time(garment_server, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "cdn.shop.example":
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(outbound.OutboundBlocked):
        fetch(f"https://cdn.shop.example:{garment_server.port}/garment.png")
    assert garment_server.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible IPv6 form of loopback
        "::ffff:127.0.0.1",
        "fec0::1",  # site-local
        "64:ff9b::a9fe:a9fe",  # NAT64 form of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 form of 127.0.0.1
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
    ],
)
def test_hostname_resolving_to_a_non_global_address_is_refused_at_connect_time(monkeypatch, address):
    # DNS is the partner's to answer: stand in for it. Nothing may be connected to.
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, 443, 0, 0) if family == socket.AF_INET6 else (address, 443)
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *args, **kwargs: [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
    )
    connects = []
    real_create_connection = urllib3.util.connection.create_connection
    monkeypatch.setattr(
        urllib3.util.connection,
        "create_connection",
        lambda *args, **kwargs: connects.append(args) or real_create_connection(*args, **kwargs),
    )

    with pytest.raises(outbound.OutboundBlocked):
        fetch("https://cdn.shop.example/garment.png")
    assert connects == []


class PublicShopRedirect(BaseAdapter):
    def __init__(self, location):
        super().__init__()
        self.location = location

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 302
        response.headers["Location"] = self.location
        response.url = request.url
        response.request = request
        response.raw = io.BytesIO(b"")
        return response

    def close(self):
        pass


@pytest.mark.parametrize(
    "location",
    [
        "https://127.0.0.1:{port}/garment.png",
        "http://127.0.0.1:{port}/garment.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/garment.png",
        "https://cdn.shop.example:{port}/garment.png",
    ],
)
def test_redirect_to_private_target_is_never_followed(garment_server, monkeypatch, location):
    port = garment_server.port
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host == "cdn.shop.example" else host, *a, **k),
    )
    real_session = outbound._session

    def session_with_public_shop(timeout):
        session = real_session(timeout)
        session.mount("https://shop.example/", PublicShopRedirect(location.format(port=port)))
        return session

    monkeypatch.setattr(outbound, "_session", session_with_public_shop)
    with pytest.raises(outbound.OutboundBlocked):
        fetch("https://shop.example/products/tshirt.jpg")
    assert garment_server.hits == []


def test_blocked_garment_fails_the_item_and_refunds_it(organization, make_tryon, garment_server):
    url = f"https://127.0.0.1:{garment_server.port}/garment.png"
    # The API refuses such URLs up front; the service below is the last line for one that slipped through.
    tryon = make_tryon(url, render_quality="hd")

    services.tryon_process(tryon_id=tryon.id)

    tryon.refresh_from_db()
    assert (tryon.status, tryon.error_code, tryon.attempts) == ("failed", "garment_url_blocked", 1)
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    assert garment_server.hits == []


def test_oversized_garment_is_rejected(garment_server, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    with pytest.raises(outbound.OutboundRejected):
        outbound.fetch_bytes(garment_server.url("/huge.png"), max_bytes=1024 * 1024, timeout=3)


def test_slow_garment_server_times_out(garment_server, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    garment_server.delays["/garment.png"] = 3
    with pytest.raises(outbound.OutboundFailed):
        outbound.fetch_bytes(garment_server.url("/garment.png"), max_bytes=1024 * 1024, timeout=1)


def test_allowed_local_garment_downloads_when_flag_is_on(garment_server, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    body, _ = outbound.fetch_bytes(
        garment_server.url("/redirect/garment.png"), max_bytes=1024 * 1024, timeout=3
    )
    assert body.startswith(b"\x89PNG")
    assert garment_server.hits == ["/redirect/garment.png", "/garment.png"]


def test_undecodable_garment_is_a_permanent_error():
    with pytest.raises(PermanentRenderError):
        services.garment_image_check(b"GIF89a not really")


@pytest.fixture
def ghostscript_calls(monkeypatch):
    """Records any attempt to run Ghostscript (not installed here) to decode an EPS garment."""
    calls = []

    def ghostscript(*args, **kwargs):
        calls.append(args)
        raise OSError("Ghostscript must never be run on a garment")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    return calls


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_garments_are_accepted(image_format):
    services.garment_image_check(image_bytes(image_format, size=(64, 64)))


@pytest.mark.parametrize("image_format", ["TIFF", "EPS", "BMP", "GIF"])
def test_garment_in_any_other_image_format_is_refused_undecoded(image_format, ghostscript_calls):
    with pytest.raises(PermanentRenderError) as refused:
        services.garment_image_check(image_bytes(image_format, size=(64, 64)))

    assert refused.value.code == "garment_invalid"
    assert ghostscript_calls == []


@pytest.mark.parametrize("image_format", ["TIFF", "EPS", "BMP", "GIF"])
def test_local_renderer_decodes_no_other_garment_format(image_format, ghostscript_calls):
    from tests.tryons.test_renderers import render_request
    from tryons.renderers import get_renderer

    with pytest.raises(PermanentRenderError):
        get_renderer("local").render(render_request(garment_image=image_bytes(image_format, size=(64, 64))))
    assert ghostscript_calls == []
