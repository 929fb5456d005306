"""Loopback stand-ins for the partner's side: a shop serving garment images and a webhook receiver."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass

from PIL import Image, ImageDraw

from tests.http_servers import LocalServer, QuietHandler


def jpeg_bytes(width: int, height: int, color=(180, 140, 120)) -> bytes:
    """A real JPEG with some structure (not a flat colour), as a phone photo would be."""
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.35, height * 0.05, width * 0.65, height * 0.3), fill=(230, 200, 170))
    draw.rectangle((width * 0.3, height * 0.3, width * 0.7, height * 0.95), fill=(60, 70, 140))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def garment_png(color: tuple[int, int, int]) -> bytes:
    image = Image.new("RGBA", (512, 512), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [(96, 80), (416, 80), (470, 200), (400, 220), (400, 470), (112, 470), (112, 220), (42, 200)],
        fill=(*color, 255),
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class GarmentServer:
    """Serves /garments/<name>.png; `delay` slows every response (to catch a worker mid-cart)."""

    def __init__(self):
        self.delay = 0.0
        self.hits: list[str] = []
        self._images = {
            "tshirt": garment_png((30, 80, 200)),
            "jeans": garment_png((20, 20, 40)),
            "dress": garment_png((200, 30, 60)),
            "jacket": garment_png((90, 110, 60)),
        }
        server = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.hits.append(self.path)
                name = self.path.rsplit("/", 1)[-1].split(".")[0].split("-")[0]
                body = server._images.get(name)
                if server.delay:
                    time.sleep(server.delay)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.reply(200, body, {"Content-Type": "image/png"})

        self._server = LocalServer(Handler)
        self.port = self._server.port

    def url(self, name: str) -> str:
        return self._server.url(f"/garments/{name}.png")

    def close(self):
        self._server.stop()


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float


class WebhookReceiver:
    """A partner's webhook endpoint: records every request and answers 200. Can go down and come back
    on the same port, as a partner's server restarting would."""

    def __init__(self):
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = LocalServer(self._handler())
        self.port = self._server.port

    def _handler(self):
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                        )
                    )
                self.reply(200, b'{"received": true}', {"Content-Type": "application/json"})

        return Handler

    def start(self):
        self._server.start()  # on the same port

    def stop(self):
        """Go down: the port refuses connections until `start()`."""
        self._server.stop()

    def url(self, path: str = "/hooks") -> str:
        return self._server.url(path)

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]
