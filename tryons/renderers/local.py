"""`local`: a Pillow preview compositor — not a neural try-on, and it says so on the image.

The person photo is cropped to the quality's portrait size, the garment's plain backdrop is keyed out, and
the garment is scaled into the body region its category covers (tops on the torso, bottoms on the legs,
dresses and one-pieces from shoulders to knees, outerwear a little wider than tops). A banner marks the
result as a preview. A background scene (tryons.scenes) replaces the photo's plain backdrop, keyed out as the
garment's is. It needs no GPU or network, so the embedded setup and the tests render real images.
"""

import io

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from tryons.renderers.base import PermanentRenderError, RenderRequest, RenderResult
from tryons.scenes import SCENES, scene_requested

# Body region per category as fractions of the frame: (left, top, right, bottom).
REGIONS = {
    "tops": (0.24, 0.20, 0.76, 0.55),
    "outerwear": (0.18, 0.18, 0.82, 0.62),
    "bottoms": (0.28, 0.50, 0.72, 0.92),
    "dresses": (0.24, 0.20, 0.76, 0.86),
    "one-pieces": (0.24, 0.20, 0.76, 0.90),
}
PREVIEW_LABEL = "PREVIEW · composite, not a neural try-on"
# Pixels this close to the garment photo's corner colour count as backdrop.
BACKDROP_TOLERANCE = 38
# The formats photos and garments are accepted in; no other Pillow decoder is ever reached from here.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")


def _open(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
        image.load()
    except Exception as exc:  # Pillow raises many types for undecodable input
        raise PermanentRenderError(f"The {what} image could not be decoded.", code="invalid_image") from exc
    return ImageOps.exif_transpose(image)


def _subject_mask(rgb: Image.Image) -> Image.Image:
    """255 where the image differs from its uniform backdrop (the colour its corners agree on), else 0."""
    w, h = rgb.size
    corners = [rgb.getpixel(xy) for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    backdrop = tuple(sorted(c[i] for c in corners)[1] for i in range(3))
    red, green, blue = ImageChops.difference(rgb, Image.new("RGB", rgb.size, backdrop)).split()
    distance = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return distance.point(lambda v: 255 if v > BACKDROP_TOLERANCE else 0)


def _garment_cutout(garment: Image.Image) -> Image.Image:
    """RGBA garment with its uniform backdrop (sampled at the corners) made transparent."""
    rgba = garment.convert("RGBA")
    if garment.mode in ("RGBA", "LA", "PA") and rgba.getextrema()[3][0] < 255:
        return rgba  # already has transparency: trust it
    rgba.putalpha(_subject_mask(rgba.convert("RGB")))
    return rgba


def _on_scene(frame: Image.Image, scene: str) -> Image.Image:
    """The person on the scene's backdrop, the photo's own backdrop keyed out; as it is for `original`."""
    backdrop = SCENES[scene].backdrop
    if backdrop is None:
        return frame
    staged = Image.new("RGB", frame.size, backdrop)
    staged.paste(frame, mask=_subject_mask(frame))
    return staged


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


class LocalPreviewRenderer:
    name = "local"

    def render(self, request: RenderRequest) -> RenderResult:
        width, height = request.size
        person = _open(request.person_image, "person").convert("RGB")
        frame = ImageOps.fit(person, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.35))
        frame = _on_scene(frame, scene_requested(request.background_scene))
        garment = _garment_cutout(_open(request.garment_image, "garment"))

        left, top, right, bottom = REGIONS[request.category]
        box = (int(left * width), int(top * height), int(right * width), int(bottom * height))
        fitted = ImageOps.contain(
            garment, (box[2] - box[0], box[3] - box[1]), method=Image.Resampling.LANCZOS
        )
        x = box[0] + (box[2] - box[0] - fitted.width) // 2
        y = box[1]
        frame.paste(fitted, (x, y), fitted)

        draw = ImageDraw.Draw(frame, "RGBA")
        band = max(24, height // 22)
        draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 170))
        draw.text(
            (band // 3, height - band + band // 5),
            PREVIEW_LABEL,
            fill=(255, 255, 255, 255),
            font=_font(band // 2),
        )
        out = io.BytesIO()
        wanted = request.controls.format  # written in the format asked for: nothing to convert afterwards
        frame.save(out, wanted.pillow, **({} if wanted.pillow == "PNG" else {"quality": 88}))
        return RenderResult(image=out.getvalue(), content_type=wanted.content_type)
