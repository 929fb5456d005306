"""Garment images: fetched through the outbound guard and accepted only if they decode as sane images."""

import io

from django.conf import settings
from PIL import Image

from infrastructure import outbound
from tryons.renderers.base import PermanentRenderError, RetryableRenderError

GARMENT_MAX_PIXELS = 40_000_000
# As for customer photos: Pillow's other decoders (TIFF, EPS through Ghostscript, ...) are attack surface that
# no shop's product image needs.
GARMENT_FORMATS = ("JPEG", "PNG", "WEBP")


def garment_image_check(data: bytes) -> None:
    """Raise PermanentRenderError unless `data` decodes as a JPEG, PNG or WebP image of sane dimensions."""
    try:
        with Image.open(io.BytesIO(data), formats=GARMENT_FORMATS) as image:
            width, height = image.size
            if width * height > GARMENT_MAX_PIXELS:
                raise PermanentRenderError("The garment image has too many pixels.", code="garment_too_large")
            image.load()
    except PermanentRenderError:
        raise
    except Exception:  # Pillow signals undecodable input with many exception types
        raise PermanentRenderError(
            "The garment image could not be decoded.", code="garment_invalid"
        ) from None


def garment_image_download(url: str) -> bytes:
    return garment_image_fetch(url).body


def garment_image_fetch(url: str, *, etag: str = "", last_modified: str = "") -> outbound.Fetched:
    """The garment at `url`, downloaded and checked, with its validators; given the validators of our copy,
    a conditional GET whose `not_modified` means the copy stands. Raises PermanentRenderError (refused,
    gone, not an image) or RetryableRenderError (the server failed or was too slow)."""
    try:
        fetched = outbound.fetch(
            url,
            max_bytes=settings.GARMENT_MAX_BYTES,
            timeout=settings.GARMENT_FETCH_TIMEOUT_SECONDS,
            etag=etag,
            last_modified=last_modified,
        )
    except outbound.OutboundBlocked as exc:
        raise PermanentRenderError(f"Garment image URL refused: {exc}", code="garment_url_blocked") from None
    except outbound.OutboundRejected as exc:
        raise PermanentRenderError(f"Garment image unavailable: {exc}", code="garment_unavailable") from None
    except outbound.OutboundFailed as exc:
        raise RetryableRenderError(
            f"Garment download failed: {exc}", code="garment_download_failed"
        ) from None
    if not fetched.not_modified:
        garment_image_check(fetched.body)
    return fetched
