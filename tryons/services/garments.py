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
    try:
        body, _ = outbound.fetch_bytes(
            url, max_bytes=settings.GARMENT_MAX_BYTES, timeout=settings.GARMENT_FETCH_TIMEOUT_SECONDS
        )
    except outbound.OutboundBlocked as exc:
        raise PermanentRenderError(f"Garment image URL refused: {exc}", code="garment_url_blocked") from None
    except outbound.OutboundRejected as exc:
        raise PermanentRenderError(f"Garment image unavailable: {exc}", code="garment_unavailable") from None
    except outbound.OutboundFailed as exc:
        raise RetryableRenderError(
            f"Garment download failed: {exc}", code="garment_download_failed"
        ) from None
    garment_image_check(body)
    return body
