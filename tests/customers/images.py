"""Images built in memory for the photo tests."""

import io
import os
import struct
import zlib

from PIL import ExifTags, Image


def image_bytes(fmt="JPEG", size=(640, 480), color=(200, 30, 30), mode="RGB", **save_kwargs) -> bytes:
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_kwargs)
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
