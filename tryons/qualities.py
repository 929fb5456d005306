"""The render qualities, declared once: what each costs, its output size, the mode engines render it in.

Pricing, the renderers, the engines, `renderer_check`, the API's price text and the README's table all read
this declaration; an organization's `defaultRenderQuality` takes the names TryonsConfig.ready registers
with organizations (organizations.models.render_qualities), which sits below tryons in the import order.

Adding a quality: its line below and its price in tests/tryons/test_pricing.py.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Quality:
    name: str
    multiplier: Decimal  # credits per item before the volume discount
    size: tuple[int, int]  # output (width, height): portrait, as shop product pages show people
    # FASHN's speed/quality trade-off (the fashn engine, and FASHN's models on fal); other models take none.
    fashn_mode: str


QUALITIES: dict[str, Quality] = {
    quality.name: quality
    for quality in (
        Quality("sd", multiplier=Decimal("1"), size=(576, 864), fashn_mode="performance"),
        Quality("hd", multiplier=Decimal("2"), size=(768, 1024), fashn_mode="balanced"),
        Quality("4k", multiplier=Decimal("4"), size=(1536, 2048), fashn_mode="quality"),
    )
}
# The names, in order: the API's RenderQualityEnum and an organization's defaultRenderQuality choices.
QUALITY_NAMES = tuple(QUALITIES)


def quality_variable(name: str) -> str:
    """The setting that gives one quality its own renderer: TRYON_RENDERER_SD, TRYON_RENDERER_4K, ..."""
    return f"TRYON_RENDERER_{name.upper()}"


def multipliers_text() -> str:
    """ "sd 1, hd 2, 4k 4": the multipliers as the API documentation states them."""
    return ", ".join(f"{quality.name} {quality.multiplier}" for quality in QUALITIES.values())
