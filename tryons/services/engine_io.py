"""What an engine job does outside our database: build the provider's inputs, fetch its result, and run such
calls for many jobs side by side.

Nothing here touches the database. A batch of engine jobs reads and writes its rows on the calling thread in
a few statements, and only the provider round trips and storage I/O fan out to threads: a thread that opened
no connection has nothing to set up or tear down (a new PostgreSQL connection per thread and batch cost
more than the statements it ran).
"""

import base64
import binascii
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection
from PIL import Image

from config import outbound
from config.storage import storage_read, storage_signed_url
from tryons.engines import engine_settings
from tryons.engines.base import EngineInputs, EngineRejected, EngineUnavailable
from tryons.models import EngineJob, TryOn
from tryons.renderers import PermanentRenderError, RenderResult, RetryableRenderError
from tryons.services.garments import garment_image_check

# Provider calls of one batch in flight at once from one worker slot: each is mostly waiting on the network.
IO_THREADS = 8

T = TypeVar("T")
R = TypeVar("R")


def fan_out(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`work` over `items`, side by side on threads when there is more than one; results in order.

    `work` must not raise (it returns its failure) and must not use the database."""
    items = list(items)
    if len(items) < 2:
        return [work(item) for item in items]

    def run(item: T) -> R:
        try:
            return work(item)
        finally:
            connection.close()  # a no-op unless something used the database after all; never leak one

    with ThreadPoolExecutor(max_workers=min(IO_THREADS, len(items))) as pool:
        return list(pool.map(run, items))


def image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def extension(data: bytes) -> str:
    return {"image/png": "png", "image/webp": "webp"}.get(image_type(data), "jpg")


def data_uri(data: bytes) -> str:
    return f"data:{image_type(data)};base64,{base64.b64encode(data).decode()}"


def engine_inputs(job: EngineJob, tryon: TryOn, known: dict[str, str]) -> EngineInputs:
    """The provider's view of the job's images: data URIs of our copies, or short-lived signed URLs.

    `known` maps storage keys to data URIs already built (the customer photo is shared by a cart's items,
    and a garment copy just stored is still in memory); entries built here are added to it."""
    s = engine_settings()
    if not tryon.photo_key:
        raise PermanentRenderError("The customer photo was erased.", code="photo_unavailable")
    if s.inputs == "signed-url":
        # Valid as long as the provider may still read them, no longer.
        person = storage_signed_url(tryon.photo_key, ttl=s.render_timeout)
        garment = storage_signed_url(job.garment_key, ttl=s.render_timeout)
    else:
        try:
            person, garment = (_known_data_uri(key, known) for key in (tryon.photo_key, job.garment_key))
        except FileNotFoundError:
            raise PermanentRenderError(
                "The customer photo is no longer stored.", code="photo_unavailable"
            ) from None
        except OSError as exc:
            raise RetryableRenderError(f"Could not read the render inputs: {type(exc).__name__}") from None
    return EngineInputs(
        person=person, garment=garment, category=tryon.category, quality=tryon.render_quality, job_id=job.id
    )


def _known_data_uri(key: str, known: dict[str, str]) -> str:
    if key not in known:
        known[key] = data_uri(storage_read(key))
    return known[key]


def engine_result_fetch(output: str) -> RenderResult:
    """The provider's output as our result: a data URI decoded, or a URL downloaded through the guard."""
    cap = engine_settings().result_max_bytes
    if output.startswith("data:"):
        header, _, payload = output.partition(",")
        if ";base64" not in header or len(payload) > cap * 4 // 3 + 4:
            raise EngineRejected("The engine's result is not a base64 image within the size limit.")
        try:
            image = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise EngineRejected("The engine's result is not valid base64.") from None
    else:
        try:
            image, _ = outbound.fetch_bytes(output, max_bytes=cap, timeout=engine_settings().http_timeout)
        except (outbound.OutboundBlocked, outbound.OutboundRejected) as exc:
            raise EngineRejected(f"Result download refused: {exc}") from None
        except outbound.OutboundFailed as exc:
            raise EngineUnavailable(f"Result download failed: {exc}") from None
    try:
        garment_image_check(image)  # the same decoder allow-list as garments: JPEG, PNG, WebP
    except PermanentRenderError:
        raise EngineRejected("The engine's result is not a usable image.", code="render_invalid") from None
    if image_type(image) == "image/webp":  # results are served as JPEG or PNG
        out = io.BytesIO()
        Image.open(io.BytesIO(image)).save(out, "PNG")
        image = out.getvalue()
    return RenderResult(
        image=image, content_type="image/png" if image.startswith(b"\x89PNG") else "image/jpeg"
    )
