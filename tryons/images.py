"""What kind of image some bytes are: PNG, WebP, else JPEG.

Only for images the pipeline has accepted, which are one of these three (garments and results pass
tryons.services.garments.garment_image_check), so the signature decides.
"""

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def image_content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def image_extension(data: bytes) -> str:
    return EXTENSIONS[image_content_type(data)]
