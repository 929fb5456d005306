"""The render qualities, declared once: what each costs, its output size, the mode engines render it in.

Pricing, the renderers, the engines, `renderer_check`, the API's price text and the README's table all read
this declaration. The names themselves are organizations.models.RENDER_QUALITIES: an organization's
`defaultRenderQuality` setting takes them, and organizations sits below tryons in the import order, so it
owns the bare names and this module everything else about them (a name without its line here, or a line
whose name is not there, stops the import).

Adding a quality: its name in RENDER_QUALITIES, its line below, its price in tests/tryons/test_pricing.py.
"""

from dataclasses import dataclass
from decimal import Decimal

from organizations.models import RENDER_QUALITIES


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
if tuple(QUALITIES) != RENDER_QUALITIES:
    raise RuntimeError(
        f"tryons.qualities declares {', '.join(QUALITIES)}; organizations.models.RENDER_QUALITIES names "
        f"{', '.join(RENDER_QUALITIES)}: each quality needs both, in the same order"
    )


def quality_variable(name: str) -> str:
    """The setting that gives one quality its own renderer: TRYON_RENDERER_SD, TRYON_RENDERER_4K, ..."""
    return f"TRYON_RENDERER_{name.upper()}"


def multipliers_text() -> str:
    """ "sd 1, hd 2, 4k 4": the multipliers as the API documentation states them."""
    return ", ".join(f"{quality.name} {quality.multiplier}" for quality in QUALITIES.values())
