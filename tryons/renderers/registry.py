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

from tryons.controls import GARMENT_PHOTO_TYPE, OUTPUT_FORMAT, SEED, Honoured

# A hosted model's licence for the images it renders, as its provider or authors state it: only a commercial
# one may serve a shop's shoppers (start-up warns about the others, tryons.engines.settings).
COMMERCIAL = "commercial"
RESEARCH_ONLY = "research-only"
NON_COMMERCIAL = "non-commercial"


@dataclass(frozen=True)
class EngineModel:
    # As the engine's model setting names it (a Replicate model without its `:version`).
    name: str
    licence: str
    # Replicate runs an official model by owner/name alone; a community model only at a version.
    official: bool = False
    # The size it renders at (width, height; portrait): a larger input is downscaled to fit, either way up,
    # before it is sent, so the provider is never handed more pixels than it uses.
    working_size: tuple[int, int] = (1024, 1536)
    # Garments it puts on the person in one render: 2 for a model that takes a top and a bottom together
    # (Kling Kolors), which a look may use instead of one render per garment.
    garments_per_render: int = 1
    # The render controls (tryons.controls) the model takes as inputs, and the formats it answers in.
    honours: Honoured = Honoured()


# FASHN's own inputs (docs.fashn.ai, "Try-On Parameters"): garment_photo_type auto | flat-lay | model, seed
# 0 to 2^32 − 1, and on v1.6 output_format png | jpeg.
FASHN_V16 = Honoured(frozenset({GARMENT_PHOTO_TYPE, SEED, OUTPUT_FORMAT}), ("jpeg", "png"))
FASHN_V15 = Honoured(frozenset({GARMENT_PHOTO_TYPE, SEED}), ("png",))
# A diffusion model on fal or Replicate with a `seed` input and PNG output.
SEEDED_PNG = Honoured(frozenset({SEED}), ("png",))
# Every format Pillow writes: what the local preview and an operator's own renderer (given the controls)
# answer in.
ALL_FORMATS = ("jpeg", "png", "webp")


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
    # The models a hosted engine is known to render with, each with its licence; and what the provider keeps
    # of a render once done, `{field}` naming an engine setting (tryons.engines.settings.EngineSettings).
    # `renderer_check` prints both; the README states them.
    models: tuple[EngineModel, ...] = ()
    retention: str = ""
    # Whether it puts the requested background scene (tryons.scenes) behind the person; one that does not
    # keeps the photo's background, and items report `original` as the scene applied.
    places_scenes: bool = False
    # The largest prepared image sent inline as a data URI; a larger one goes as a short-lived signed URL
    # (TRYON_ENGINE_INPUTS=auto), or is re-encoded smaller until it fits (data-uri).
    inline_max_bytes: int = 1024 * 1024
    # The render controls a renderer that is not a hosted engine honours (an engine's model declares its
    # own); what it does not, we emulate or the item's engineNotes say (tryons.controls).
    honours: Honoured = Honoured()

    @property
    def engine(self) -> bool:
        return bool(self.client)


RENDERERS: dict[str, RendererKind] = {
    kind.name: kind
    for kind in (
        RendererKind(
            "local",
            synchronous=True,
            builder="tryons.renderers.local.LocalPreviewRenderer",
            places_scenes=True,
            # A compositor, not a model: it has no randomness to seed, and sees no difference between
            # garment photo types (its samples are alike); it writes any format.
            honours=Honoured(frozenset({OUTPUT_FORMAT}), ALL_FORMATS),
        ),
        RendererKind(
            "http",
            synchronous=True,
            builder="tryons.renderers.http.renderer_from_settings",
            needs=("TRYON_HTTP_RENDERER_URL",),
            places_scenes=True,  # the operator's renderer gets backgroundScene and is documented to honour it
            # ...and the controls, as form fields (README, "Renderers"); its answer is converted if needed.
            honours=Honoured(frozenset({GARMENT_PHOTO_TYPE, SEED, OUTPUT_FORMAT}), ALL_FORMATS),
        ),
        RendererKind(
            "eventbridge",
            synchronous=False,
            builder="tryons.renderers.eventbridge.renderer_from_settings",
            callback=True,
            needs=("EVENTBRIDGE_BUS_NAME", "TRYON_CALLBACK_SECRET"),
            places_scenes=True,  # as http: the operator's renderer gets backgroundScene
            honours=Honoured(frozenset({GARMENT_PHOTO_TYPE, SEED, OUTPUT_FORMAT}), ALL_FORMATS),
        ),
        RendererKind(
            "fashn",
            synchronous=False,
            needs=("FASHN_API_KEY",),
            client="tryons.engines.fashn.FashnEngine",
            model_setting="FASHN_MODEL",
            models=(
                # FASHN's own models, sold for e-commerce try-on (docs.fashn.ai, "FASHN Virtual Try-On v1.6"):
                # v1.6 renders at 864 x 1296, v1.5 at 576 x 864; a larger input only makes the request bigger.
                EngineModel("tryon-v1.6", COMMERCIAL, working_size=(864, 1296), honours=FASHN_V16),
                EngineModel("tryon-v1.5", COMMERCIAL, working_size=(576, 864), honours=FASHN_V15),
            ),
            # docs.fashn.ai, "Troubleshooting": oversized base64 payloads are a common cause of its 500s, and
            # FASHN states no figure; ours keeps a 864 x 1296 JPEG inline and sends anything larger by URL.
            inline_max_bytes=2 * 1024 * 1024,
            # docs.fashn.ai, "Data Retention & Privacy": with return_base64 (ours) outputs are kept in memory
            # 60 minutes; CDN outputs are deleted after 72 hours; input images are never stored.
            retention="FASHN: base64 outputs 60 minutes (ours), CDN outputs 72 h; input images never stored",
        ),
        RendererKind(
            "fal",
            synchronous=False,
            needs=("FAL_KEY",),
            check="tryons.engines.fal.fal_settings_check",
            client="tryons.engines.fal.FalEngine",
            model_setting="FAL_MODEL",
            # fal's model pages and the licence type in its generated endpoint metadata (fal-rs
            # src/endpoints/fal_ai/*/mod.rs, "License Type"); IDM-VTON's own licence (yisol/IDM-VTON README).
            # Working sizes: Leffa, CatVTON and IDM-VTON were trained at 768 x 1024 (their papers); FASHN's as
            # above; Kling states none for Kolors, which gets at most 1024 x 1536 from us.
            models=(
                # Leffa's fal schema: seed, and output_format png | jpeg.
                EngineModel(
                    "fal-ai/leffa/virtual-tryon",
                    COMMERCIAL,
                    working_size=(768, 1024),
                    honours=Honoured(frozenset({SEED, OUTPUT_FORMAT}), ("png", "jpeg")),
                ),
                EngineModel(
                    "fal-ai/fashn/tryon/v1.6", COMMERCIAL, working_size=(864, 1296), honours=FASHN_V16
                ),
                EngineModel(
                    "fal-ai/fashn/tryon/v1.5", COMMERCIAL, working_size=(576, 864), honours=FASHN_V15
                ),
                # fal's model page: "can be used for commercial try on"; a top and a bottom in one render.
                EngineModel(
                    "fal-ai/kling/v1-5/kolors-virtual-try-on",
                    COMMERCIAL,
                    working_size=(1024, 1536),
                    garments_per_render=2,
                    honours=Honoured(frozenset(), ("png",)),  # the two images only: no seed, no format
                ),
                EngineModel("fal-ai/cat-vton", RESEARCH_ONLY, working_size=(768, 1024), honours=SEEDED_PNG),
                # CC BY-NC-SA 4.0, and private on fal
                EngineModel("fal-ai/idm-vton", NON_COMMERCIAL, working_size=(768, 1024), honours=SEEDED_PNG),
            ),
            # docs.fal.ai, "fal CDN": some models accept data URIs, "URLs are the universal format that works
            # with every model"; fal states no size, so the 1 MB Replicate advises is ours here too.
            inline_max_bytes=1024 * 1024,
            # docs.fal.ai, "Data Retention & Storage": CDN files live as long as the request's
            # X-Fal-Object-Lifecycle-Preference says (ours: FAL_OBJECT_EXPIRATION_SECONDS); X-Fal-Store-IO: 0
            # keeps the request and response payloads out of fal's history.
            retention="fal: CDN files (the output) {fal_object_expiration_seconds} s "
            "(FAL_OBJECT_EXPIRATION_SECONDS), or until our delete; no request or response payloads",
        ),
        RendererKind(
            "replicate",
            synchronous=False,
            needs=("REPLICATE_API_TOKEN", "REPLICATE_MODEL"),
            client="tryons.engines.replicate.ReplicateEngine",
            model_setting="REPLICATE_MODEL",
            check="tryons.engines.replicate.replicate_settings_check",
            # A community model: IDM-VTON's checkpoints are CC BY-NC-SA 4.0 (yisol/IDM-VTON README).
            # Its inputs include `seed`; it answers a JPEG.
            models=(
                EngineModel(
                    "cuuupid/idm-vton",
                    NON_COMMERCIAL,
                    working_size=(768, 1024),
                    honours=Honoured(frozenset({SEED}), ("jpeg",)),
                ),
            ),
            # replicate.com/docs, "Input files": a data URI is "only recommended if the file is less than
            # 1MB".
            inline_max_bytes=1024 * 1024,
            # replicate.com/docs, "Data retention": an API prediction's inputs, outputs and logs are removed
            # an hour after it finishes; there is no delete call.
            retention="Replicate: predictions removed an hour after they finish; no delete API",
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


# What an undeclared model (a Replicate deployment) is taken to be: one garment a render, at most this size.
UNDECLARED_MODEL = EngineModel("", "", working_size=(1024, 1536))


def renderer_honours(renderer: str, model: str = "") -> Honoured:
    """What `renderer` (with `model`, for a hosted engine) honours of the render controls."""
    kind = RENDERERS.get(renderer)
    if kind is None:
        return Honoured()
    if not kind.engine:
        return kind.honours
    return (engine_model(kind, model) or UNDECLARED_MODEL).honours


def engine_model(kind: RendererKind, model: str) -> EngineModel | None:
    """The declaration of `model` (a value of `kind`'s model setting), or None when it is not declared (a
    Replicate deployment runs whatever was deployed: its licence is the operator's to know)."""
    name = model.partition(":")[0]
    return next((declared for declared in kind.models if declared.name == name), None)
