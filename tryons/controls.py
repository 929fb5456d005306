"""The render controls a partner may set on a cart (and override per item), declared once: the request's
choices, the renderers' declarations of what they honour (tryons.renderers.registry), each item's
`engineNotes`, GET /v1/account's `renderCapabilities` and the README read this.

- `garmentPhotoType`: how the garment image shows the garment (auto, flat-lay, model); an engine that takes
  it renders better for knowing, one that does not ignores it, and the item says so.
- `numSamples`: 1 to 4 images of the item, each one render, priced as one. Always one render per sample,
  submitted side by side, so each sample is delivered, charged and refunded on its own.
- `seed`: sample i is rendered with seed + i (modulo 2^32); absent, the cart gets a random one, reported on
  every result so a partner can render the same again. An engine without a seed input ignores it.
- `outputFormat`: jpeg, png or webp; asked of an engine that can produce it, else the result is converted.
  Not given: the engine is asked for JPEG where it takes a format, and its answer is kept as JPEG or PNG.
"""

import io
import secrets
from dataclasses import dataclass

from PIL import Image

from tryons.images import image_content_type

GARMENT_PHOTO_TYPE = "garmentPhotoType"
SEED = "seed"
NUM_SAMPLES = "numSamples"
OUTPUT_FORMAT = "outputFormat"

GARMENT_PHOTO_TYPES = ("auto", "flat-lay", "model")
DEFAULT_GARMENT_PHOTO_TYPE = "auto"
MAX_SAMPLES = 4
SEED_MODULUS = 2**32  # FASHN's range, 0 to 2^32 − 1; the others take any integer in it


@dataclass(frozen=True)
class OutputFormat:
    name: str
    content_type: str
    extension: str
    pillow: str  # Pillow's format name, to convert a result into it


OUTPUT_FORMATS = {
    f.name: f
    for f in (
        OutputFormat("jpeg", "image/jpeg", "jpg", "JPEG"),
        OutputFormat("png", "image/png", "png", "PNG"),
        OutputFormat("webp", "image/webp", "webp", "WEBP"),
    )
}
OUTPUT_FORMAT_NAMES = tuple(OUTPUT_FORMATS)
DEFAULT_OUTPUT_FORMAT = "jpeg"
_BY_CONTENT_TYPE = {f.content_type: f for f in OUTPUT_FORMATS.values()}
RESULT_EXTENSIONS = tuple(f.extension for f in OUTPUT_FORMATS.values())


def extension_format(extension: str) -> str:
    """The output format a stored result's extension names."""
    return next(f.name for f in OUTPUT_FORMATS.values() if f.extension == extension)


@dataclass(frozen=True)
class Controls:
    """What a render is asked for. Stored on each render row: "" and None mean the defaults."""

    garment_photo_type: str = ""
    seed: int | None = None
    output_format: str = ""

    @property
    def photo_type(self) -> str:
        return self.garment_photo_type or DEFAULT_GARMENT_PHOTO_TYPE

    @property
    def format(self) -> OutputFormat:
        return OUTPUT_FORMATS[self.output_format or DEFAULT_OUTPUT_FORMAT]

    def fields(self) -> dict:
        """The controls by their request names, for an operator's own renderer (http, eventbridge); the seed
        only when there is one."""
        return {
            GARMENT_PHOTO_TYPE: self.photo_type,
            OUTPUT_FORMAT: self.format.name,
            **({SEED: self.seed} if self.seed is not None else {}),
        }


def render_controls(row) -> Controls:
    """The controls a render row (tryons.models.TryOn) was asked for."""
    return Controls(garment_photo_type=row.garment_photo_type, seed=row.seed, output_format=row.output_format)


@dataclass(frozen=True)
class CartControls:
    """The controls a cart asks for, for every item that does not give its own."""

    garment_photo_type: str = ""
    num_samples: int = 1
    seed: int | None = None
    output_format: str = ""
    # False: render anew, never hand out an identical earlier render (tryons.reuse).
    reuse: bool = True

    def given(self) -> dict:
        """The ones the partner gave, by request name: what the cart's content hash includes."""
        return {
            name: value
            for name, value in (
                (GARMENT_PHOTO_TYPE, self.garment_photo_type),
                (NUM_SAMPLES, self.num_samples if self.num_samples != 1 else None),
                (SEED, self.seed),
                (OUTPUT_FORMAT, self.output_format),
                ("reuse", None if self.reuse else False),
            )
            if value not in ("", None)
        }

    def reuse_for(self, item) -> bool:
        return self.reuse if item.reuse is None else item.reuse

    def for_item(self, item) -> tuple[int, "Controls"]:
        """An item's samples and controls (its seed the first sample's): its own where it gives them, else
        the cart's. Several samples without a seed get a random one, so that they differ on engines that
        take a seed (FASHN renders seed 42 when given none)."""
        samples = item.num_samples or self.num_samples
        seed = item.seed if item.seed is not None else self.seed
        return samples, Controls(
            garment_photo_type=item.garment_photo_type or self.garment_photo_type,
            seed=random_seed() if seed is None and samples > 1 else seed,
            output_format=item.output_format or self.output_format,
        )


def random_seed() -> int:
    return secrets.randbelow(SEED_MODULUS)


def sample_seed(seed: int, sample: int) -> int:
    return (seed + sample) % SEED_MODULUS


@dataclass(frozen=True)
class Honoured:
    """What a renderer (or a hosted model) does itself with the controls: which of garmentPhotoType, seed and
    outputFormat it takes (numSamples is always ours, one render per sample), and the output formats it can
    answer in (others are converted by us)."""

    controls: frozenset[str] = frozenset()
    formats: tuple[str, ...] = ("jpeg",)


def produces(honoured: Honoured, name: str) -> bool:
    """Whether the renderer itself answers in format `name`: one without an output format input answers in
    its first format only."""
    return name in honoured.formats and (OUTPUT_FORMAT in honoured.controls or name == honoured.formats[0])


def native_format(honoured: Honoured, wanted: OutputFormat) -> str:
    """The format to ask a renderer that takes an output format for: the one wanted if it can, else a
    lossless one to convert from, else its first."""
    for name in (wanted.name, "png"):
        if name in honoured.formats:
            return name
    return honoured.formats[0]


def provider_inputs(honoured: Honoured, controls: Controls) -> dict:
    """The controls as a hosted model's input fields, only those it takes: FASHN, fal's models and
    Replicate's name them alike (garment_photo_type, seed, output_format)."""
    fields = {}
    if GARMENT_PHOTO_TYPE in honoured.controls:
        fields["garment_photo_type"] = controls.photo_type
    if SEED in honoured.controls and controls.seed is not None:
        fields["seed"] = controls.seed
    if OUTPUT_FORMAT in honoured.controls:
        fields["output_format"] = native_format(honoured, controls.format)
    return fields


# What an item says when its renderer could not do what was asked and we cannot make up for it (a format we
# convert, samples we render one by one); `code` is stable, for branching on.
PHOTO_TYPE_IGNORED = "garment_photo_type_ignored"
SEED_IGNORED = "seed_ignored"
ENGINE_NOTE_CODES = (PHOTO_TYPE_IGNORED, SEED_IGNORED)


def engine_notes(honoured: Honoured, renderer: str, controls: Controls) -> list[dict]:
    """What the item's renderer did not do of what was asked, as [{code, message}]; [] when nothing."""
    notes = []
    if controls.photo_type != DEFAULT_GARMENT_PHOTO_TYPE and GARMENT_PHOTO_TYPE not in honoured.controls:
        notes.append(
            {
                "code": PHOTO_TYPE_IGNORED,
                "message": f"The {renderer} renderer takes no garment photo type: "
                f"{controls.photo_type} was not applied.",
            }
        )
    if controls.seed is not None and SEED not in honoured.controls:
        notes.append(
            {
                "code": SEED_IGNORED,
                "message": f"The {renderer} renderer takes no seed: rendering again with the same seed may "
                "give another image.",
            }
        )
    return notes


# How a renderer serves a control (control_support), and a format.
CONTROL_SUPPORT = ("native", "emulated", "ignored")
FORMAT_SUPPORT = ("native", "converted")


def control_support(honoured: Honoured) -> dict:
    """How a renderer serves each control, for renderCapabilities: natively, by us (samples rendered one by
    one, a format converted), or not at all (ignored, and the item's engineNotes say so)."""
    return {
        GARMENT_PHOTO_TYPE: "native" if GARMENT_PHOTO_TYPE in honoured.controls else "ignored",
        SEED: "native" if SEED in honoured.controls else "ignored",
        NUM_SAMPLES: "emulated",
        OUTPUT_FORMAT: {
            name: "native" if produces(honoured, name) else "converted" for name in OUTPUT_FORMATS
        },
    }


@dataclass(frozen=True)
class EncodedResult:
    image: bytes
    format: OutputFormat
    width: int
    height: int

    def info(self, **extra) -> dict:
        return {"format": self.format.name, "width": self.width, "height": self.height, **extra}


class ResultUnusable(ValueError):
    """A renderer's answer that is not an image we can deliver (undecodable, or absurdly many pixels)."""


# No render we deliver is larger (4k is 1536 x 2048); a result beyond this is refused before decoding.
RESULT_MAX_PIXELS = 40_000_000
# Quality of a converted lossy result: close to what the engines answer (FASHN's JPEGs are ~90).
CONVERTED_QUALITY = 90


def result_encode(image: bytes, output_format: str) -> EncodedResult:
    """The result in the format asked for: as it came when it is already that format, else converted (a
    transparent result laid on white for JPEG); with none asked, as it came (a WebP as PNG). Raises
    ResultUnusable for an image that does not decode as JPEG, PNG or WebP, or is far too large."""
    if output_format:
        wanted = OUTPUT_FORMATS[output_format]
    else:  # none asked: as the renderer answered, a WebP as PNG (what results were before outputFormat)
        wanted = _BY_CONTENT_TYPE[image_content_type(image)]
        wanted = OUTPUT_FORMATS["png"] if wanted.name == "webp" else wanted
    try:
        return _encode(image, wanted)
    except ResultUnusable:
        raise
    except Exception as exc:  # Pillow signals undecodable input with many exception types
        raise ResultUnusable("The renderer's image could not be decoded.") from exc


def _encode(image: bytes, wanted: OutputFormat) -> EncodedResult:
    with Image.open(io.BytesIO(image), formats=("JPEG", "PNG", "WEBP")) as decoded:
        width, height = decoded.size
        if width * height > RESULT_MAX_PIXELS:
            raise ResultUnusable(f"The renderer's image has too many pixels ({width} x {height}).")
        if _BY_CONTENT_TYPE.get(image_content_type(image)) == wanted:
            decoded.load()  # checked whole: a truncated image is not delivered
            return EncodedResult(image, wanted, width, height)
        decoded.load()
        if wanted.pillow == "JPEG" and decoded.mode not in ("RGB", "L"):
            rgba = decoded.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            decoded = flat
        out = io.BytesIO()
        options = {} if wanted.pillow == "PNG" else {"quality": CONVERTED_QUALITY}
        decoded.save(out, wanted.pillow, **options)
    return EncodedResult(out.getvalue(), wanted, width, height)
