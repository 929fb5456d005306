"""The hosted engines' settings, read from the environment once (config.environment's strict readers).

config/settings.py holds the deployment's renderer (`TRYON_RENDERER`); this module holds everything only the
hosted engines need, so their group stays in the app that uses it. `engine_settings()` is read at start-up
(tryons.apps) so a malformed value stops the process with a message naming the variable.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.environment import read, read_positive_int

ENGINES = ("fashn", "fal", "replicate")
RENDERERS = ("local", "http", "eventbridge", *ENGINES)
INPUT_MODES = ("data-uri", "signed-url")
QUALITY_VARIABLES = {"sd": "TRYON_RENDERER_SD", "hd": "TRYON_RENDERER_HD", "4k": "TRYON_RENDERER_4K"}


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
    replicate_api_token: str
    replicate_api_url: str
    replicate_model: str

    def credentials(self, engine: str) -> str:
        return {"fashn": self.fashn_api_key, "fal": self.fal_key, "replicate": self.replicate_api_token}[
            engine
        ]


def _renderer(name: str) -> str:
    value = read(name, str, "").strip()
    if value and value not in RENDERERS:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(RENDERERS)}, got {value!r}")
    return value


def _renderers_named(values: EngineSettings) -> set[str]:
    return {settings.TRYON_RENDERER, *values.by_quality.values(), values.fallback} - {""}


def configured_renderers() -> set[str]:
    """Every renderer some try-on may be rendered by: TRYON_RENDERER, a quality's own, the fallback."""
    return _renderers_named(engine_settings())


def _require_renderer_settings(values: EngineSettings) -> None:
    """What config/settings.py asks of TRYON_RENDERER, asked of a quality's renderer and the fallback too:
    a renderer named anywhere starts only with its settings (TRYON_RENDERER_HD=eventbridge used to start
    without a bus or callback secret, and its callbacks then answered 404)."""
    named = {var: value for var, value in _variables(values).items() if value}
    for variable, renderer in named.items():
        if renderer == "eventbridge" and not (
            settings.EVENTBRIDGE_BUS_NAME and settings.TRYON_CALLBACK_SECRET
        ):
            raise ImproperlyConfigured(
                f"{variable}=eventbridge needs EVENTBRIDGE_BUS_NAME and TRYON_CALLBACK_SECRET"
            )
        if renderer == "http" and not settings.TRYON_HTTP_RENDERER_URL:
            raise ImproperlyConfigured(f"{variable}=http needs TRYON_HTTP_RENDERER_URL")


def _variables(values: EngineSettings) -> dict[str, str]:
    return {
        **{QUALITY_VARIABLES[quality]: renderer for quality, renderer in values.by_quality.items()},
        "TRYON_FALLBACK_RENDERER": values.fallback,
    }


@cache
def engine_settings() -> EngineSettings:
    values = EngineSettings(
        # Only the qualities given their own renderer; the others follow TRYON_RENDERER (read per call).
        by_quality={q: _renderer(var) for q, var in QUALITY_VARIABLES.items() if _renderer(var)},
        fallback=_renderer("TRYON_FALLBACK_RENDERER"),
        render_timeout=read_positive_int("TRYON_RENDER_TIMEOUT_SECONDS", 600, minimum=30),
        max_in_flight=read_positive_int("TRYON_ENGINE_MAX_IN_FLIGHT", 20),
        poll_seconds=read_positive_int("TRYON_ENGINE_POLL_SECONDS", 2, maximum=60),
        http_timeout=read_positive_int("TRYON_ENGINE_HTTP_TIMEOUT_SECONDS", 30),
        circuit_failures=read_positive_int("TRYON_ENGINE_CIRCUIT_FAILURES", 5),
        circuit_open_seconds=read_positive_int("TRYON_ENGINE_CIRCUIT_OPEN_SECONDS", 60),
        result_max_bytes=read_positive_int("TRYON_ENGINE_RESULT_MAX_BYTES", 25 * 1024 * 1024),
        inputs=read("TRYON_ENGINE_INPUTS", str, "data-uri"),
        fashn_api_key=read("FASHN_API_KEY", str, ""),
        fashn_api_url=read("FASHN_API_URL", str, "https://api.fashn.ai/v1").rstrip("/"),
        fashn_model=read("FASHN_MODEL", str, "tryon-v1.6"),
        fal_key=read("FAL_KEY", str, ""),
        fal_queue_url=read("FAL_QUEUE_URL", str, "https://queue.fal.run").rstrip("/"),
        fal_api_url=read("FAL_API_URL", str, "https://api.fal.ai/v1").rstrip("/"),
        fal_model=read("FAL_MODEL", str, "fal-ai/cat-vton"),
        replicate_api_token=read("REPLICATE_API_TOKEN", str, ""),
        replicate_api_url=read("REPLICATE_API_URL", str, "https://api.replicate.com/v1").rstrip("/"),
        replicate_model=read("REPLICATE_MODEL", str, ""),
    )
    if values.inputs not in INPUT_MODES:
        raise ImproperlyConfigured(f"TRYON_ENGINE_INPUTS must be one of {', '.join(INPUT_MODES)}")
    _require_renderer_settings(values)
    used = _renderers_named(values) & set(ENGINES)
    for engine in sorted(used):
        if not values.credentials(engine):
            variable = {"fashn": "FASHN_API_KEY", "fal": "FAL_KEY", "replicate": "REPLICATE_API_TOKEN"}[
                engine
            ]
            raise ImproperlyConfigured(f"The {engine} engine is configured but {variable} is not set")
    if "replicate" in used and not values.replicate_model:
        raise ImproperlyConfigured("The replicate engine needs REPLICATE_MODEL (owner/name[:version])")
    if "fal" in used:
        from tryons.engines.fal import fal_model_inputs

        fal_model_inputs(values.fal_model)  # an unknown model fails here, at start-up
    return values
