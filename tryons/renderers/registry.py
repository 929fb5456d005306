"""The renderers, declared once: each one's name, whether a worker waits for its image, how a later result
comes back, the settings it cannot start without, and the code that builds it.

The settings check (tryons.engines.settings, at start-up), the factories (tryons.renderers.get_renderer,
tryons.engines.engine_client), the render callback endpoint, `renderer_check`, the admin's engine filter and
the README's table read this declaration. Code is named by dotted path and imported only when a renderer is
built, so this module stays a leaf any module may import (and boto3 loads only where eventbridge renders).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class RendererKind:
    name: str
    # Whether render() hands back the image while the worker waits; otherwise it accepts the job and returns.
    synchronous: bool
    # The renderer that builds it: a dotted path to a callable taking no arguments. A hosted engine's is
    # tryons.renderers.hosted, which submits to `client`.
    builder: str = ""
    # Whether its results arrive through the signed render callback (tryons.views.RenderCallbackView), which
    # answers only while a renderer some try-on may get is of this kind.
    callback: bool = False
    # Settings it cannot start without, by variable name: Django settings, or a hosted engine's own
    # (tryons.engines.settings.EngineSettings, whose fields are the variables' names in lower case).
    needs: tuple[str, ...] = ()
    # A start-up check of its settings beyond `needs`: a dotted path to a callable taking the setting lookup.
    check: str = ""
    # A hosted engine's client class (tryons.engines.base.Engine, built by its `from_settings`) and the
    # setting naming its model (recorded on each EngineJob). Engines render while no worker waits: the
    # EngineJob pipeline submits and polls them, behind a circuit breaker and a fallback.
    client: str = ""
    model_setting: str = ""

    @property
    def engine(self) -> bool:
        return bool(self.client)


RENDERERS: dict[str, RendererKind] = {
    kind.name: kind
    for kind in (
        RendererKind("local", synchronous=True, builder="tryons.renderers.local.LocalPreviewRenderer"),
        RendererKind(
            "http",
            synchronous=True,
            builder="tryons.renderers.http.renderer_from_settings",
            needs=("TRYON_HTTP_RENDERER_URL",),
        ),
        RendererKind(
            "eventbridge",
            synchronous=False,
            builder="tryons.renderers.eventbridge.renderer_from_settings",
            callback=True,
            needs=("EVENTBRIDGE_BUS_NAME", "TRYON_CALLBACK_SECRET"),
        ),
        RendererKind(
            "fashn",
            synchronous=False,
            needs=("FASHN_API_KEY",),
            client="tryons.engines.fashn.FashnEngine",
            model_setting="FASHN_MODEL",
        ),
        RendererKind(
            "fal",
            synchronous=False,
            needs=("FAL_KEY",),
            check="tryons.engines.fal.fal_settings_check",
            client="tryons.engines.fal.FalEngine",
            model_setting="FAL_MODEL",
        ),
        RendererKind(
            "replicate",
            synchronous=False,
            needs=("REPLICATE_API_TOKEN", "REPLICATE_MODEL"),
            client="tryons.engines.replicate.ReplicateEngine",
            model_setting="REPLICATE_MODEL",
        ),
    )
}
ENGINES = tuple(name for name, kind in RENDERERS.items() if kind.engine)
CALLBACK_RENDERERS = tuple(name for name, kind in RENDERERS.items() if kind.callback)
# What a sandbox (test-mode) organization's try-ons render with, whatever live mode uses: it costs nothing,
# and its results are plainly previews.
TEST_MODE_RENDERER = RENDERERS["local"].name


def renderer_named(variable: str, name: str) -> RendererKind:
    """The renderer the setting `variable` names; ImproperlyConfigured, naming the variable, if none is
    registered under `name`."""
    try:
        return RENDERERS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"{variable} must be one of {', '.join(RENDERERS)}, got {name!r}"
        ) from None


def renderer_settings_check(variable: str, kind: RendererKind, setting: Callable[[str], object]) -> None:
    """Refuse to start when `kind`, chosen by `variable`, lacks a setting it needs (read by `setting`)."""
    if not all(setting(name) for name in kind.needs):
        raise ImproperlyConfigured(f"{variable}={kind.name} needs {' and '.join(kind.needs)}")
    if kind.check:
        import_string(kind.check)(setting)
