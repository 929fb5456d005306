"""The hosted engines' settings, read from the environment once (config.environment's strict readers).

config/settings.py holds the deployment's renderer (`TRYON_RENDERER`); this module holds everything only the
hosted engines need, so their group stays in the app that uses it, and checks every renderer choice against
the registry (tryons.renderers.registry). `engine_settings()` is read at start-up (tryons.apps) so a
malformed value, an unknown renderer or one without its settings stops the process with a message naming
the variable.
"""

import logging
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.environment import read, read_positive_int
from tryons.qualities import QUALITIES, quality_variable
from tryons.renderers.registry import (
    CALLBACK_RENDERERS,
    COMMERCIAL,
    RENDERERS,
    engine_model,
    renderer_named,
    renderer_settings_check,
)

logger = logging.getLogger(__name__)

INPUT_MODES = ("auto", "data-uri", "signed-url")
# The settings whose field is not their variable's name in lower case (a renderer's check may read them).
_FIELDS = {"TRYON_RENDER_TIMEOUT_SECONDS": "render_timeout"}


@dataclass(frozen=True)
class EngineSettings:
    by_quality: dict[str, str]
    fallback: str
    render_timeout: int
    max_in_flight: int
    poll_seconds: int
    http_timeout: int
    circuit_failures: int
    circuit_open_seconds: int
    result_max_bytes: int
    inputs: str
    fashn_api_key: str
    fashn_api_url: str
    fashn_model: str
    fal_key: str
    fal_queue_url: str
    fal_api_url: str
    fal_model: str
    fal_object_expiration_seconds: int
    replicate_api_token: str
    replicate_api_url: str
    replicate_model: str

    def model(self, engine: str) -> str:
        """The model `engine` renders with (recorded on each of its jobs)."""
        return self.setting(RENDERERS[engine].model_setting)

    def setting(self, variable: str) -> str:
        """An engine setting by its variable's name, as the renderer registry names it."""
        return getattr(self, _FIELDS.get(variable, variable.lower()))


def _renderer(variable: str) -> str:
    value = read(variable, str, "").strip()
    if value:
        renderer_named(variable, value)
    return value


def configured_renderers() -> set[str]:
    """Every renderer some try-on may be rendered by: TRYON_RENDERER, a quality's own, the fallback."""
    return set(_variables(engine_settings()).values()) - {""}


def _variables(values: EngineSettings) -> dict[str, str]:
    """Each variable that chooses a renderer, and the renderer it chooses ("" when unset)."""
    return {
        "TRYON_RENDERER": settings.TRYON_RENDERER,
        **{quality_variable(quality): renderer for quality, renderer in values.by_quality.items()},
        "TRYON_FALLBACK_RENDERER": values.fallback,
    }


def _renderers_check(values: EngineSettings) -> None:
    """A renderer named anywhere (TRYON_RENDERER, a quality's own, the fallback) is a registered one and
    starts only with the settings it needs, whichever variable named it."""

    def setting(variable: str):
        return getattr(settings, variable) if hasattr(settings, variable) else values.setting(variable)

    for variable, name in _variables(values).items():
        if name:
            renderer_settings_check(variable, renderer_named(variable, name), setting)


@cache
def engine_settings() -> EngineSettings:
    chosen = {quality: _renderer(quality_variable(quality)) for quality in QUALITIES}
    values = EngineSettings(
        # Only the qualities given their own renderer; the others follow TRYON_RENDERER (read per call).
        by_quality={quality: renderer for quality, renderer in chosen.items() if renderer},
        fallback=_renderer("TRYON_FALLBACK_RENDERER"),
        render_timeout=read_positive_int("TRYON_RENDER_TIMEOUT_SECONDS", 600, minimum=30),
        max_in_flight=read_positive_int("TRYON_ENGINE_MAX_IN_FLIGHT", 20),
        poll_seconds=read_positive_int("TRYON_ENGINE_POLL_SECONDS", 2, maximum=60),
        http_timeout=read_positive_int("TRYON_ENGINE_HTTP_TIMEOUT_SECONDS", 30),
        circuit_failures=read_positive_int("TRYON_ENGINE_CIRCUIT_FAILURES", 5),
        circuit_open_seconds=read_positive_int("TRYON_ENGINE_CIRCUIT_OPEN_SECONDS", 60),
        result_max_bytes=read_positive_int("TRYON_ENGINE_RESULT_MAX_BYTES", 25 * 1024 * 1024),
        inputs=read("TRYON_ENGINE_INPUTS", str, "auto"),
        fashn_api_key=read("FASHN_API_KEY", str, ""),
        fashn_api_url=read("FASHN_API_URL", str, "https://api.fashn.ai/v1").rstrip("/"),
        fashn_model=read("FASHN_MODEL", str, "tryon-v1.6"),
        fal_key=read("FAL_KEY", str, ""),
        fal_queue_url=read("FAL_QUEUE_URL", str, "https://queue.fal.run").rstrip("/"),
        fal_api_url=read("FAL_API_URL", str, "https://api.fal.ai/v1").rstrip("/"),
        # Licensed for commercial use, as every default model is (tryons.renderers.registry).
        fal_model=read("FAL_MODEL", str, "fal-ai/leffa/virtual-tryon"),
        # How long fal keeps the files it puts on its CDN for a request (we download the result at once).
        fal_object_expiration_seconds=read_positive_int(
            "FAL_OBJECT_EXPIRATION_SECONDS", 3600, minimum=60, maximum=86400
        ),
        replicate_api_token=read("REPLICATE_API_TOKEN", str, ""),
        replicate_api_url=read("REPLICATE_API_URL", str, "https://api.replicate.com/v1").rstrip("/"),
        replicate_model=read("REPLICATE_MODEL", str, ""),
    )
    if values.inputs not in INPUT_MODES:
        raise ImproperlyConfigured(f"TRYON_ENGINE_INPUTS must be one of {', '.join(INPUT_MODES)}")
    _renderers_check(values)
    _licences_check(values)
    return values


def _licences_check(values: EngineSettings) -> None:
    """Warn (not refuse: the operator may hold a licence of their own) about each configured engine whose
    model is not declared commercial in the renderer registry."""
    for name in sorted(set(_variables(values).values()) - {""}):
        kind = RENDERERS[name]
        if not kind.engine:
            continue
        model = values.model(name)
        declared = engine_model(kind, model)
        if declared is None:
            logger.warning(
                "%s=%s has no declared licence: check that its images may serve commercial traffic",
                kind.model_setting,
                model,
            )
        elif declared.licence != COMMERCIAL:
            logger.warning(
                "%s=%s is licensed %s: its images may not serve commercial traffic (README, "
                '"Hosted try-on engines", lists the commercial models)',
                kind.model_setting,
                model,
                declared.licence,
            )


def asynchronous_renderer_configured() -> bool:
    """Whether any renderer a try-on may get (TRYON_RENDERER, a quality's own, the fallback) answers by
    callback: the callback endpoint exists then, and only then."""
    return bool(configured_renderers() & set(CALLBACK_RENDERERS))
