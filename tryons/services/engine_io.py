"""What an engine job does outside our database: build the provider's inputs, fetch its result, and run such
calls for many jobs side by side.

Nothing here touches the database. A batch of engine jobs reads and writes its rows on the calling thread in
a few statements, and only the provider round trips and storage I/O fan out to threads: a thread that opened
no connection has nothing to set up or tear down (a new PostgreSQL connection per thread and batch cost
more than the statements it ran).
"""

import base64
import binascii
import hashlib
import hmac
import io
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection
from PIL import Image

from infrastructure import outbound
from infrastructure.storage import storage_delete, storage_read, storage_save, storage_signed_url
from tryons.engines import engine_settings
from tryons.engines.base import EngineInputs, EngineRejected, EngineUnavailable
from tryons.images import EXTENSIONS, image_content_type
from tryons.models import EngineJob, TryOn
from tryons.renderers.base import PermanentRenderError, RenderResult, RetryableRenderError
from tryons.services.garments import garment_image_check

logger = logging.getLogger(__name__)

# Provider calls of one batch in flight at once from one worker slot: each is mostly waiting on the network.
IO_THREADS = 8

# Where the copies a provider reads with TRYON_ENGINE_INPUTS=signed-url live: outside every organization's
# prefix, under names that say nothing (see engine_input_key), and only while the job runs.
ENGINE_INPUTS_PREFIX = "engine-inputs/"
_IMAGE_EXTENSIONS = tuple(EXTENSIONS.values())

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


def data_uri(data: bytes) -> str:
    return f"data:{image_content_type(data)};base64,{base64.b64encode(data).decode()}"


def engine_inputs(job: EngineJob, tryon: TryOn, known: dict[str, str]) -> EngineInputs:
    """The provider's view of the job's images: data URIs of our copies, or short-lived signed URLs.

    `known` maps storage keys to data URIs already built (the customer photo is shared by a cart's items,
    and a garment copy just stored is still in memory); entries built here are added to it."""
    s = engine_settings()
    if not tryon.photo_key:
        raise PermanentRenderError("The customer photo was erased.", code="photo_unavailable")
    signed = s.inputs == "signed-url"
    inputs = (("person", tryon.photo_key), ("garment", job.garment_key))
    try:
        if signed:
            # Opaque copies, signed for as long as the provider may still read them, no longer: the objects'
            # own keys name the organization and the photo (enterprise/org-<id>/photos/<photoId>).
            person, garment = (
                storage_signed_url(_engine_input_copy(job.id, role, key), ttl=s.render_timeout)
                for role, key in inputs
            )
        else:
            person, garment = (_known_data_uri(key, known) for _, key in inputs)
    except FileNotFoundError:
        raise PermanentRenderError(
            "The customer photo is no longer stored.", code="photo_unavailable"
        ) from None
    except OSError as exc:
        doing = "copy" if signed else "read"
        raise RetryableRenderError(f"Could not {doing} the render inputs: {type(exc).__name__}") from None
    return EngineInputs(
        person=person, garment=garment, category=tryon.category, quality=tryon.render_quality, job_id=job.id
    )


def engine_input_key(job_id: str, role: str, extension: str) -> str:
    """The opaque key of a job's `role` input ("person" or "garment"): a keyed hash of the job id, so the
    provider learns nothing from it (no organization, customer, photo or try-on id) and we can find it again
    from the job alone to delete it."""
    secret = hashlib.sha256(b"garmax-engine-inputs:" + settings.SECRET_KEY.encode()).digest()
    name = hmac.new(secret, f"{job_id}:{role}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{ENGINE_INPUTS_PREFIX}{name}.{extension}"


def _engine_input_copy(job_id: str, role: str, source_key: str) -> str:
    extension = source_key.rsplit(".", 1)[-1].lower()
    key = engine_input_key(job_id, role, extension if extension in _IMAGE_EXTENSIONS else "jpg")
    return storage_save(key, storage_read(source_key))  # a re-submit of the job overwrites its own copy


def engine_inputs_discard(job_id: str) -> None:
    """Delete a job's input copies (every name they may have): called when the job ends, however it ends.

    Best effort: a copy left behind (storage down) expires with the bucket's lifecycle rule on
    ENGINE_INPUTS_PREFIX (README), and its signed URL has expired with the render timeout anyway."""
    for role in ("person", "garment"):
        for extension in _IMAGE_EXTENSIONS:
            try:
                storage_delete(engine_input_key(job_id, role, extension))
            except Exception:  # storage backends fail with many types; the copy is only left behind
                logger.warning("engine job %s: could not delete an input copy", job_id, exc_info=True)
                return


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
    if image_content_type(image) == "image/webp":  # results are served as JPEG or PNG
        out = io.BytesIO()
        Image.open(io.BytesIO(image)).save(out, "PNG")
        image = out.getvalue()
    return RenderResult(image=image, content_type=image_content_type(image))
