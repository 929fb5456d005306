"""Each input image made into what its engine takes: no more pixels than the model renders at, upright, and
small enough to travel inline when it is to be sent inline.

Pillow only: no storage, no database (tryons.services.engine_io reads, stores and signs). The registry
(tryons.renderers.registry) declares each model's working size and each provider's inline ceiling.
"""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from tryons.images import image_content_type

# Decoders an input may need: ours are JPEG, PNG or WebP (photos and garments are checked on the way in).
FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
# Tried in turn when a re-encoded image must fit an inline ceiling (TRYON_ENGINE_INPUTS=data-uri).
SMALLER_QUALITIES = (80, 70, 60, 50)
# Transparent garment cut-outs are flattened onto the white of a product photo's background.
BACKGROUND = (255, 255, 255)
# EXIF's Orientation tag: anything but "upright" (1) is applied before sending, since re-encoding drops EXIF.
_ORIENTATION = 0x0112


class InputUnusable(ValueError):
    """The stored image does not decode: nothing the engine could do with it either."""


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def fitted_size(size: tuple[int, int], working_size: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down (never up) to fit the working size either way up: a landscape photo is held to the
    portrait box turned on its side, so neither orientation loses resolution the model would use."""
    long_side, short_side = max(working_size), min(working_size)
    width, height = size
    scale = min(1.0, long_side / max(width, height), short_side / min(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def input_prepare(
    data: bytes, *, working_size: tuple[int, int], max_bytes: int | None = None
) -> PreparedImage:
    """`data` as the engine should get it: the stored bytes themselves when they are already upright, within
    the working size and within `max_bytes`; otherwise upright, downscaled to fit, and re-encoded as JPEG,
    stepping the quality down until it fits `max_bytes` when one is given (what still does not fit is
    returned as it is: the caller sends it by URL)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            size = image.size
            target = fitted_size(size, working_size)
            orientation = image.getexif().get(_ORIENTATION, 1)
            if target == size and orientation == 1 and (max_bytes is None or len(data) <= max_bytes):
                return PreparedImage(data, image_content_type(data), *size)
            if image.format == "JPEG":
                image.draft(
                    "RGB", target
                )  # libjpeg decodes at 1/2, 1/4 or 1/8 scale: a 48 MP photo stays small
            image.load()
            upright = ImageOps.exif_transpose(image)
            flat = _flattened(upright)
            resized = flat.resize(fitted_size(flat.size, working_size), Image.Resampling.LANCZOS)
    except (
        OSError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:  # Pillow's ways of saying "not an image"
        raise InputUnusable(f"{type(exc).__name__}") from None
    encoded = _jpeg(resized, JPEG_QUALITY)
    for quality in SMALLER_QUALITIES if max_bytes is not None else ():
        if len(encoded) <= max_bytes:
            break
        encoded = _jpeg(resized, quality)
    return PreparedImage(encoded, "image/jpeg", *resized.size)


def outfit_image(upper: bytes, lower: bytes, *, working_size: tuple[int, int]) -> bytes:
    """A top and a bottom as one garment image, the top above the bottom on white, as a model that renders
    both in one call (Kling Kolors) is shown an outfit; each garment is scaled to half the working height."""
    width, height = min(working_size), max(working_size)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    for row, data in enumerate((upper, lower)):
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                image.load()
                garment = _flattened(ImageOps.exif_transpose(image))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise InputUnusable(f"{type(exc).__name__}") from None
        garment.thumbnail((width, height // 2), Image.Resampling.LANCZOS)
        left = (width - garment.width) // 2
        top = row * (height // 2) + (height // 2 - garment.height) // 2
        canvas.paste(garment, (left, top))
    return _jpeg(canvas, JPEG_QUALITY)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on the white background."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
