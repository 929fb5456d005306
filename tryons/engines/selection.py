"""Which renderer renders a try-on: the one function that decides (quality, circuit, fallback)."""

from django.conf import settings

from tryons.engines.circuit import circuit_is_open
from tryons.engines.settings import engine_settings
from tryons.renderers import renderer_override
from tryons.renderers.registry import ENGINES


def renderer_for(tryon) -> str:
    """The renderer name for `tryon`: its quality's own (TRYON_RENDERER_<QUALITY>, else TRYON_RENDERER), or
    TRYON_FALLBACK_RENDERER while that engine's circuit is open. A test-mode (sandbox) try-on always renders
    locally: test keys never reach a paid engine."""
    override = renderer_override(tryon.organization_id) if tryon.organization_id else None
    if override:
        return override
    s = engine_settings()
    primary = s.by_quality.get(tryon.render_quality) or settings.TRYON_RENDERER
    fallback = s.fallback
    if primary in ENGINES and fallback and fallback != primary and circuit_is_open(primary):
        return primary if fallback in ENGINES and circuit_is_open(fallback) else fallback
    return primary
