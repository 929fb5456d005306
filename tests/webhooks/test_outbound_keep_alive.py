"""`infrastructure.outbound.post(keep_alive=True)`: connections reused per thread, the SSRF guard
unchanged."""

import socket
import threading

import pytest

from infrastructure import outbound
from tests.http_servers import WebhookReceiver


@pytest.fixture
def keep_alive_receiver():
    """An HTTP/1.1 receiver that sets a cookie and answers /big with more than a response may hold."""
    receiver = WebhookReceiver(keep_alive=True)
    receiver.respond = lambda request: (
        200,
        {"Set-Cookie": "session=partner-secret; Path=/"},
        b"x" * (200_000 if request.path == "/big" else 2),
        0,
    )
    yield receiver
    receiver.stop()


def _client_ports(receiver) -> list[int]:
    """The client port each request came from: one port, one connection."""
    return [request.client_port for request in receiver.requests]


def _post(url, **kwargs):
    return outbound.post(url, data=b"{}", headers={}, timeout=5, max_response_bytes=1024, **kwargs)


@pytest.mark.usefixtures("private_targets")
def test_keep_alive_reuses_the_connection_and_a_plain_post_does_not(keep_alive_receiver):
    for _ in range(3):
        assert _post(keep_alive_receiver.url, keep_alive=True).status_code == 200
    assert len(set(_client_ports(keep_alive_receiver))) == 1
    for _ in range(2):
        _post(keep_alive_receiver.url)
    assert len(set(_client_ports(keep_alive_receiver)[3:])) == 2


@pytest.mark.usefixtures("private_targets")
def test_each_thread_has_its_own_connection(keep_alive_receiver):
    _post(keep_alive_receiver.url, keep_alive=True)
    other = threading.Thread(target=_post, args=(keep_alive_receiver.url,), kwargs={"keep_alive": True})
    other.start()
    other.join()
    assert len(set(_client_ports(keep_alive_receiver))) == 2


@pytest.mark.usefixtures("private_targets")
def test_a_response_cut_at_the_size_limit_closes_its_connection(keep_alive_receiver):
    response = _post(keep_alive_receiver.url_at("/big"), keep_alive=True)
    assert response.content == b"x" * 1024
    _post(keep_alive_receiver.url, keep_alive=True)
    # The unread rest of the first body must not be taken for the second response.
    assert len(set(_client_ports(keep_alive_receiver))) == 2


@pytest.mark.usefixtures("private_targets")
def test_cookies_a_partner_sets_are_never_sent_back(keep_alive_receiver):
    for _ in range(2):
        _post(keep_alive_receiver.url, keep_alive=True)
    assert [request.headers.get("Cookie") for request in keep_alive_receiver.requests] == [None, None]


def test_a_pooled_connection_still_checks_the_address_on_every_request(monkeypatch, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    real_getaddrinfo = socket.getaddrinfo
    # A public-looking host name whose DNS answer points at loopback (the rebinding trick).
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo(
            "127.0.0.1" if host == "hooks.partner.example" else host, *a, **k
        ),
    )
    for _ in range(2):
        with pytest.raises(outbound.OutboundBlocked):
            _post("https://hooks.partner.example/hook", keep_alive=True)
    with pytest.raises(outbound.OutboundBlocked):
        _post("http://hooks.partner.example/hook", keep_alive=True)  # and plain http is refused first


@pytest.mark.usefixtures("private_targets")
@pytest.mark.parametrize("keep_alive", [True, False])
def test_outbound_requests_take_no_proxy_or_netrc_credentials_from_the_environment(
    tmp_path, monkeypatch, keep_alive
):
    receiver = WebhookReceiver()
    try:
        # A proxy that does not exist: a request sent through it would fail, not reach the receiver.
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        netrc = tmp_path / ".netrc"
        netrc.write_text("machine 127.0.0.1 login operator password hunter2\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setattr(outbound, "_pool", outbound._SessionPool())  # sessions built under this env

        assert _post(receiver.url, keep_alive=keep_alive).status_code == 200
        assert [request.headers.get("Authorization") for request in receiver.requests] == [None]
    finally:
        receiver.stop()
