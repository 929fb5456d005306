"""Turning an uploaded file into a photo we are willing to store.

The bytes are judged by decoding them, never by the file name or the declared content type. What is
stored is a fresh encoding of the pixels only: orientation applied, colours converted to sRGB, and no
EXIF, GPS, XMP, comments or ICC profile carried over.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from api.errors import ValidationError

# Pillow plugin names we accept. MPO is how some phones save a JPEG with an extra depth/preview frame;
# its first frame is an ordinary JPEG.
_ACCEPTED = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class CleanedPhoto:
    content: bytes
    extension: str
    content_type: str
    width: int
    height: int


def _reject(message: str, **details) -> ValidationError:
    return ValidationError(message, details={"photo": [message], **details})


def _check_dimensions(width: int, height: int) -> None:
    shorter, longer = min(width, height), max(width, height)
    if shorter < settings.PHOTO_MIN_SIDE or longer > settings.PHOTO_MAX_SIDE:
        raise _reject(
            f"Photo is {width}x{height} px; the shorter side must be at least {settings.PHOTO_MIN_SIDE} px "
            f"and the longer side at most {settings.PHOTO_MAX_SIDE} px.",
            minSide=settings.PHOTO_MIN_SIDE,
            maxSide=settings.PHOTO_MAX_SIDE,
        )


def _to_srgb(image: Image.Image) -> Image.Image:
    """Bake an embedded colour profile into the pixels, so dropping the profile keeps the colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in {"RGB", "RGBA", "CMYK", "L"}:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile is ignored, as browsers do


def _output_mode(image: Image.Image, target: str) -> str:
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    if target == "JPEG":
        return "L" if image.mode == "L" else "RGB"
    return "RGBA" if has_alpha else "RGB"


def photo_clean(upload) -> CleanedPhoto:
    """Decode `upload` (a file object), validate it and return a metadata-free re-encoding.

    Raises ValidationError for anything that is not a single-frame JPEG, PNG or WebP within the size
    limits, including truncated files and decompression bombs. Dimensions are checked from the header
    before any pixel is decoded, so an oversized image never costs its decode.
    """
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; treat a warning as the bomb it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=["JPEG", "PNG", "WEBP"])
            source_format = image.format
            if source_format not in _ACCEPTED:
                raise _reject("Photo must be a JPEG, PNG or WebP image.")
            if getattr(image, "is_animated", False) and source_format != "MPO":
                raise _reject("Animated images are not accepted; upload a single still photo.")
            _check_dimensions(*image.size)
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _reject("Photo has too many pixels to be decoded safely.") from None
    except UnidentifiedImageError:
        raise _reject("Photo could not be decoded as a JPEG, PNG or WebP image.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _reject("Photo is truncated or corrupt and could not be decoded.") from None

    target = _ACCEPTED[source_format]
    image = ImageOps.exif_transpose(image)
    image = _to_srgb(image)
    image = image.convert(_output_mode(image, target))
    # A new image holds the pixels and nothing else: no `info`, so no EXIF/XMP/ICC can ride along.
    pixels = Image.new(image.mode, image.size)
    pixels.paste(image)

    buffer = io.BytesIO()
    if target == "JPEG":
        pixels.save(buffer, "JPEG", quality=90, optimize=True)
    elif target == "WEBP":
        pixels.save(buffer, "WEBP", quality=90, method=4)
    else:
        pixels.save(buffer, "PNG", optimize=False, compress_level=6)
    return CleanedPhoto(
        content=buffer.getvalue(),
        extension=_EXTENSIONS[target],
        content_type=_CONTENT_TYPES[target],
        width=pixels.width,
        height=pixels.height,
    )
