import io

import pytest
from PIL import ExifTags, Image

from api.errors import ValidationError
from customers.photos import photo_clean
from tests.images import (
    animated,
    image_bytes,
    jpeg_with_gps_and_rotation,
    png_claiming_size,
)


def clean(data: bytes):
    return photo_clean(io.BytesIO(data))


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")],
)
def test_jpeg_png_and_webp_are_accepted_and_keep_their_format(fmt, extension, content_type):
    cleaned = clean(image_bytes(fmt, size=(640, 480)))
    assert (cleaned.extension, cleaned.content_type) == (extension, content_type)
    assert (cleaned.width, cleaned.height) == (640, 480)
    assert Image.open(io.BytesIO(cleaned.content)).format == fmt


def test_gps_and_every_other_exif_tag_are_gone_and_orientation_is_applied():
    original = jpeg_with_gps_and_rotation(size=(400, 600))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture has GPS

    cleaned = clean(original)

    stored = Image.open(io.BytesIO(cleaned.content))
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info and "icc_profile" not in stored.info
    assert b"SecretCam" not in cleaned.content and b"Exif" not in cleaned.content
    # Orientation 6 means "rotate 90° clockwise to display": the stored image is landscape now, and the
    # marker strip that was on the stored top edge is on the right.
    assert (cleaned.width, cleaned.height) == (600, 400)
    right_edge = stored.convert("RGB").getpixel((595, 200))
    assert right_edge[0] > 200 and right_edge[1] > 200 and right_edge[2] < 80


def test_png_text_chunks_are_not_carried_over():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Location", "52.37N 4.89E")
    cleaned = clean(image_bytes("PNG", size=(500, 500), pnginfo=info))
    assert b"52.37N" not in cleaned.content


def test_transparency_survives_png_and_webp():
    for fmt in ("PNG", "WEBP"):
        cleaned = clean(image_bytes(fmt, size=(400, 400), mode="RGBA", color=(0, 0, 0, 0)))
        assert Image.open(io.BytesIO(cleaned.content)).mode == "RGBA"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not an image at all" * 100, id="text"),
        pytest.param(image_bytes("GIF", size=(400, 400)), id="gif"),
        pytest.param(image_bytes("BMP", size=(400, 400)), id="bmp"),
        pytest.param(image_bytes("TIFF", size=(400, 400)), id="tiff"),
        pytest.param(image_bytes("JPEG", size=(800, 800))[:400], id="truncated-jpeg"),
        pytest.param(b"", id="empty"),
    ],
)
def test_anything_but_a_decodable_jpeg_png_or_webp_is_a_validation_error(data):
    with pytest.raises(ValidationError) as raised:
        clean(data)
    assert "photo" in raised.value.details


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_animated_images_are_refused(fmt):
    with pytest.raises(ValidationError, match="Animated"):
        clean(animated(fmt))


@pytest.mark.parametrize("size", [(299, 800), (800, 299), (4097, 1000), (1000, 4097)])
def test_dimensions_outside_the_limits_are_refused(size):
    with pytest.raises(ValidationError, match="shorter side"):
        clean(image_bytes("PNG", size=size))


def test_dimension_limits_follow_settings(settings):
    settings.PHOTO_MIN_SIDE = 100
    assert clean(image_bytes("PNG", size=(150, 150))).width == 150


def test_a_decompression_bomb_is_refused_without_decoding_it(settings):
    settings.PHOTO_MAX_SIDE = 10**6  # so that only Pillow's pixel guard stands in the way
    with pytest.raises(ValidationError, match="too many pixels"):
        clean(png_claiming_size(100_000, 100_000))


def test_a_header_claiming_huge_dimensions_is_refused_by_the_dimension_limit():
    with pytest.raises(ValidationError):
        clean(png_claiming_size(9000, 9000))
