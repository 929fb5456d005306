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
import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from infrastructure import outbound
from infrastructure.public_addresses import private_networks_allowed
from infrastructure.storage import (
    storage_delete,
    storage_read,
    storage_save,
    storage_signed_url,
    storage_uses_s3,
)
from tryons.controls import render_controls
from tryons.engines import engine_client, engine_settings
from tryons.engines.base import EngineInputs, EngineRejected, EngineUnavailable
from tryons.engines.inputs import InputUnusable, PreparedImage, input_prepare
from tryons.images import EXTENSIONS, image_content_type
from tryons.models import EngineJob, TryOn
from tryons.renderers.base import PermanentRenderError, RenderResult, RetryableRenderError
from tryons.renderers.registry import RENDERERS, UNDECLARED_MODEL, engine_model
from tryons.services.garments import garment_image_check

logger = logging.getLogger(__name__)

# Provider calls of one batch in flight at once from one worker slot: each is mostly waiting on the network.
IO_THREADS = 8

# Where the copies a provider reads by signed URL (TRYON_ENGINE_INPUTS signed-url, or auto) live: outside
# every organization's prefix, under names that say nothing (see engine_input_key), while the job runs.
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


class InputImages:
    """The images one batch of submissions sends, shared by its threads: each stored image is read once and
    prepared once per model size, however many items ask for it at the same moment (a cart's photo is every
    item's), so a batch never decodes one photo on several threads at once.

    `stored` maps storage keys to bytes already in memory (a garment copy just stored)."""

    def __init__(self, stored: dict[str, bytes] | None = None):
        self._stored = dict(stored or {})
        self._prepared: dict[tuple, PreparedImage] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def prepared(self, key: str, working_size: tuple[int, int], ceiling: int | None) -> PreparedImage:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            memo = (key, working_size, ceiling)
            if memo not in self._prepared:
                if key not in self._stored:
                    self._stored[key] = storage_read(key)
                self._prepared[memo] = input_prepare(
                    self._stored[key], working_size=working_size, max_bytes=ceiling
                )
            return self._prepared[memo]


def engine_inputs(job: EngineJob, tryon: TryOn, images: InputImages) -> EngineInputs:
    """The provider's view of the job's images, each prepared for the job's engine (tryons.engines.inputs:
    no more pixels than its model renders at, upright) and sent as TRYON_ENGINE_INPUTS says: inline as a
    data URI, or as a short-lived signed URL of an opaque copy; `auto` sends inline what is within the
    provider's inline ceiling and the rest by URL; `images` holds what the batch has read and prepared."""
    s = engine_settings()
    if not tryon.photo_key:
        raise PermanentRenderError("The customer photo was erased.", code="photo_unavailable")
    kind = RENDERERS[job.engine]
    model = engine_model(kind, s.model(job.engine)) or UNDECLARED_MODEL
    mode = s.inputs
    if mode == "auto" and not _signed_urls_reach_providers():
        mode = "data-uri"  # a provider cannot fetch from this host: fit everything inline instead
    ceiling = kind.inline_max_bytes
    forms, inline_bytes = {}, 0
    try:
        for role, key in (("person", tryon.photo_key), ("garment", job.garment_key)):
            image = images.prepared(key, model.working_size, ceiling if mode == "data-uri" else None)
            if mode == "signed-url" or (mode == "auto" and len(image.data) > ceiling):
                copy = _engine_input_copy(job.id, role, image)
                forms[role] = storage_signed_url(copy, ttl=s.render_timeout)
            else:
                forms[role] = data_uri(image.data)
                inline_bytes += len(image.data)
    except FileNotFoundError:
        raise PermanentRenderError(
            "The customer photo is no longer stored.", code="photo_unavailable"
        ) from None
    except InputUnusable as exc:
        raise PermanentRenderError(
            f"A render input could not be decoded ({exc}).", code="invalid_image"
        ) from None
    except OSError as exc:
        raise RetryableRenderError(f"Could not prepare the render inputs: {type(exc).__name__}") from None
    return EngineInputs(
        person=forms["person"],
        garment=forms["garment"],
        category=tryon.category,
        quality=tryon.render_quality,
        job_id=job.id,
        inline_bytes=inline_bytes,
        controls=render_controls(tryon),
    )


def _signed_urls_reach_providers() -> bool:
    """Whether a provider could fetch a signed URL of ours: always from S3; from this host unless its public
    base URL is a loopback address (development, where only local fakes are allowed to be providers)."""
    if storage_uses_s3() or private_networks_allowed():
        return True
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    return host != "localhost" and not (_ip(host) and _ip(host).is_loopback)


def _ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def engine_input_key(job_id: str, role: str, extension: str) -> str:
    """The opaque key of a job's `role` input ("person" or "garment"): a keyed hash of the job id, so the
    provider learns nothing from it (no organization, customer, photo or try-on id) and we can find it again
    from the job alone to delete it."""
    secret = hashlib.sha256(b"garmax-engine-inputs:" + settings.SECRET_KEY.encode()).digest()
    name = hmac.new(secret, f"{job_id}:{role}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{ENGINE_INPUTS_PREFIX}{name}.{extension}"


def _engine_input_copy(job_id: str, role: str, image: PreparedImage) -> str:
    key = engine_input_key(job_id, role, EXTENSIONS[image.content_type])
    return storage_save(key, image.data)  # a re-submit of the job overwrites its own copy


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
    return RenderResult(image=image, content_type=image_content_type(image))


def job_cleanup(job: EngineJob) -> None:
    if engine_settings().inputs != "data-uri":  # auto sends an input too large to go inline by URL
        engine_inputs_discard(job.id)
    try:
        if job.garment_key:
            storage_delete(job.garment_key)
    except Exception:  # storage backends fail with many types; the copy is only left behind
        logger.warning("engine job %s: could not delete the garment copy", job.id, exc_info=True)
    if job.provider_job_id:
        try:
            engine_client(job.engine).cleanup(job.provider_job_id, job.provider_urls)
        except Exception as exc:  # best effort: the provider's own retention still applies
            logger.warning("engine job %s: provider clean-up failed: %s", job.id, exc)


def job_cancel_at_provider(job: EngineJob) -> None:
    try:
        engine_client(job.engine).cancel(job.provider_job_id, job.provider_urls)
    except Exception as exc:  # best effort: the job is over for us either way
        logger.info("engine job %s: cancel failed: %s", job.id, exc)
