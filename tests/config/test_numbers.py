"""Numbers in a peer's text: only ASCII digits are a number.

`str.isdigit()` is true for "²" (and "³", "①", ...), which `int()` and `float()` refuse: every place that
read a number as `isdigit()` then `int()` raised on one. Fuzzing found the request log answering 500 to
`status=²`; the same pattern read a garment server's and an engine's Content-Length and a webhook
receiver's Retry-After. Each is tried here from the peer's side.
"""

import io
from types import SimpleNamespace

import pytest

from api.numbers import whole_number
from api.parsers import JSONParser
from infrastructure import outbound
from tests.http_servers import LocalServer, QuietHandler

NOT_NUMBERS = ["²", "1²", "١٢", "٤٠٤", " 12", "12 ", "+12", "-1", "1_000", "12.0", "", None]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_anything_but_ascii_digits_is_not_a_number(text):
    assert whole_number(text) is None


@pytest.mark.parametrize(
    ("text", "number"), [("0", 0), ("404", 404), ("0012", 12), ("9" * 30, int("9" * 30))]
)
def test_ascii_digits_are_their_number(text, number):
    assert whole_number(text) == number


def _server_declaring(content_length: str, body: bytes) -> LocalServer:
    """Answers every request with `body` and a Content-Length header of `content_length`, then closes."""

    class Handler(QuietHandler):
        def _answer(self):
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", content_length)  # "²" goes out as the latin-1 byte 0xB2
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    return LocalServer(Handler)


@pytest.fixture(autouse=True)
def private_networks_on(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


# Header values arrive latin-1 decoded: "²", "³" and "¹" are the digits-to-isdigit() a server can send.
@pytest.mark.parametrize("declared", ["²", "³"])
def test_a_garment_server_declaring_a_non_ascii_length_is_read_and_still_bounded(declared):
    with _server_declaring(declared, b"x" * 12) as server:
        assert outbound.fetch_bytes(server.url("/g.png"), max_bytes=1024, timeout=5) == (
            b"x" * 12,
            "image/png",
        )
    # The declared length says nothing, so the limit is enforced on the bytes that arrive.
    with _server_declaring(declared, b"x" * 2048) as server, pytest.raises(outbound.OutboundRejected):
        outbound.fetch_bytes(server.url("/g.png"), max_bytes=1024, timeout=5)


def test_an_engine_answer_declaring_a_non_ascii_length_is_read():
    with _server_declaring("²", b'{"ok":true}') as server:
        response = outbound.request(
            "GET", server.url("/jobs/1"), headers={}, timeout=5, max_response_bytes=1024
        )
    assert response.json() == {"ok": True}


def test_the_json_parser_reads_a_body_whose_declared_length_is_not_a_number():
    request = SimpleNamespace(META={"CONTENT_LENGTH": "²"})
    parsed = JSONParser().parse(io.BytesIO(b'{"a": 1}'), parser_context={"request": request})
    assert parsed == {"a": 1}
