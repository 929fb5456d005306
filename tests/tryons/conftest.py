import contextlib
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image, ImageDraw

from config.ids import new_id
from config.storage import storage_save
from customers.models import Customer, Photo


def person_jpeg(size=(600, 900)) -> bytes:
    image = Image.new("RGB", size, (200, 180, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 80, 350, 200), fill=(230, 200, 170))
    draw.rectangle((220, 200, 380, 600), fill=(90, 90, 120))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def garment_png(color=(200, 30, 30), size=(400, 400)) -> bytes:
    image = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(image).polygon(
        [(60, 40), (340, 40), (380, 140), (320, 160), (320, 380), (80, 380), (80, 160), (20, 140)], fill=color
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.S3_BUCKET_NAME = ""
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr("tryons.services.processing.RENDER_BACKOFF_SECONDS", (0.01, 0.01))


@pytest.fixture
def allow_private(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def photo_of():
    """A real stored photo of a new customer of `organization`."""

    def make(organization, external_id=None) -> Photo:
        customer = Customer.objects.create(
            organization=organization, external_id=external_id or new_id("ext")
        )
        photo_id = new_id("photo")
        key = f"enterprise/org-{organization.id}/photos/{photo_id}.jpg"
        data = person_jpeg()
        storage_save(key, data)
        return Photo.objects.create(
            id=photo_id,
            organization=organization,
            customer=customer,
            storage_key=key,
            content_type="image/jpeg",
            width=600,
            height=900,
            size_bytes=len(data),
        )

    return make


class GarmentServer:
    """A real local HTTP server standing in for a shop's CDN; it counts every request it receives."""

    def __init__(self):
        self.hits: list[str] = []
        self.delays: dict[str, float] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits.append(self.path)
                path = self.path.split("?")[0]
                time.sleep(server.delays.get(path, 0))
                if path.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", "/" + path.removeprefix("/redirect/"))
                    self.end_headers()
                    return
                if path.startswith("/garment"):
                    body, kind = garment_png(), "image/png"
                elif path == "/not-an-image.png":
                    body, kind = b"<html>hello</html>", "image/png"
                elif path == "/huge.png":
                    body, kind = b"\0" * (2 * 1024 * 1024), "image/png"
                elif path == "/flaky.png" and server.hits.count(self.path) < 2:
                    self.send_response(503)
                    self.end_headers()
                    return
                elif path == "/flaky.png":
                    body, kind = garment_png(), "image/png"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may give up on purpose (size limit).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def garment_server():
    server = GarmentServer()
    yield server
    server.close()


def cart_item(url: str, n: int = 1, category: str = "tops") -> dict:
    return {
        "productId": f"prod_{n:03d}",
        "variantId": f"var_{n}",
        "name": f"Garment {n}",
        "imageUrl": url,
        "category": category,
        "quantity": 2,
        "price": "29.99",
        "currency": "USD",
    }
