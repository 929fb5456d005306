"""Images built in memory, the one place tests (and bench/) make them: a customer's photo, a shop's garment,
a flat image in any format, and the awkward ones (noisy, rotated with GPS, animated, a decompression bomb)."""

import functools
import io
import os
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw


def image_bytes(fmt="JPEG", size=(640, 480), color=(200, 30, 30), mode="RGB", **save_kwargs) -> bytes:
    """One flat colour in `fmt` (any format Pillow writes)."""
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_kwargs)
    return buffer.getvalue()


def person_jpeg(size=(600, 900), **save_kwargs) -> bytes:
    """A customer's photo: a head and a body on a background, drawn in proportion to `size`."""
    width, height = size
    image = Image.new("RGB", size, (200, 180, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 5 / 12, height * 4 / 45, width * 7 / 12, height * 2 / 9), fill=(230, 200, 170))
    draw.rectangle((width * 11 / 30, height * 2 / 9, width * 19 / 30, height * 2 / 3), fill=(90, 90, 120))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **save_kwargs)
    return buffer.getvalue()


# A shop's CDN serves stored bytes: encoding a PNG per request would time this, not the code under test.
@functools.cache
def garment_png(color=(200, 30, 30), size=(400, 400), *, cut_out: bool = False) -> bytes:
    """A shop's product image: a T-shirt in `color` on white, or (`cut_out`) on a transparent background."""
    width, height = size
    outline = [(60, 40), (340, 40), (380, 140), (320, 160), (320, 380), (80, 380), (80, 160), (20, 140)]
    image = Image.new("RGBA" if cut_out else "RGB", size, (255, 255, 255, 0) if cut_out else (255, 255, 255))
    ImageDraw.Draw(image).polygon(
        [(x * width / 400, y * height / 400) for x, y in outline], fill=(*color, 255) if cut_out else color
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def noise_jpeg(size=(1200, 1200)) -> bytes:
    """A JPEG that compresses badly, for size-limit tests."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def jpeg_with_gps_and_rotation(size=(400, 600)) -> bytes:
    """A portrait JPEG stored sideways (EXIF orientation 6) that carries GPS coordinates and a camera make."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 37.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 53.0, 42.0),
    }
    image = Image.new("RGB", size, (10, 120, 200))
    image.paste((250, 250, 0), (0, 0, size[0], 50))  # a marker strip on the stored top edge
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def animated(fmt: str, size=(400, 400)) -> bytes:
    frames = [Image.new("RGB", size, color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height`: a decompression bomb as far as the header goes."""
    data = bytearray(image_bytes("PNG", size=(1, 1)))
    ihdr_start = 8 + 4  # signature, chunk length
    struct.pack_into(">II", data, ihdr_start + 4, width, height)
    chunk = bytes(data[ihdr_start : ihdr_start + 4 + 13])
    struct.pack_into(">I", data, ihdr_start + 4 + 13, zlib.crc32(chunk))
    return bytes(data)
