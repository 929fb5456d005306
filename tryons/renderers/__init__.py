"""Renderer backends, chosen by `settings.TRYON_RENDERER` (or per item, tryons.engines.selection): local
(default), http, eventbridge, and the hosted engines fashn, fal, replicate."""

from django.conf import settings

from organizations.models import Organization
from tryons.renderers.base import (
    QUALITY_SIZES,
    PermanentRenderError,
    RenderAccepted,
    Renderer,
    RenderError,
    RenderRequest,
    RenderResult,
    RetryableRenderError,
)

__all__ = [
    "QUALITY_SIZES",
    "PermanentRenderError",
    "RenderAccepted",
    "RenderError",
    "RenderRequest",
    "RenderResult",
    "Renderer",
    "RetryableRenderError",
    "asynchronous_renderer_configured",
    "get_renderer",
    "renderer_override",
]


# Renderers whose results come back later, through the signed render callback (tryons.views).
ASYNCHRONOUS_RENDERERS = frozenset({"eventbridge"})


def asynchronous_renderer_configured() -> bool:
    """Whether any renderer a try-on may get (TRYON_RENDERER, a quality's own, the fallback) answers by
    callback: the callback endpoint exists then, and only then."""
    from tryons.engines.settings import configured_renderers

    return bool(configured_renderers() & ASYNCHRONOUS_RENDERERS)


def get_renderer(name: str | None = None) -> Renderer:
    name = name or settings.TRYON_RENDERER
    if name == "local":
        from tryons.renderers.local import LocalPreviewRenderer

        return LocalPreviewRenderer()
    if name == "http":
        from tryons.renderers.http import HttpRenderer

        return HttpRenderer(
            url=settings.TRYON_HTTP_RENDERER_URL,
            auth_header=settings.TRYON_HTTP_RENDERER_AUTH_HEADER,
            timeout=settings.TRYON_HTTP_RENDERER_TIMEOUT_SECONDS,
        )
    if name == "eventbridge":
        from tryons.renderers.eventbridge import EventBridgeRenderer

        return EventBridgeRenderer(
            bus_name=settings.EVENTBRIDGE_BUS_NAME,
            region=settings.AWS_REGION,
            endpoint_url=settings.EVENTBRIDGE_ENDPOINT_URL,
        )
    if name in ("fashn", "fal", "replicate"):
        from tryons.renderers.hosted import HostedEngineRenderer

        return HostedEngineRenderer(name)
    raise ValueError(f"unknown renderer {name!r}")


def renderer_override(organization_id: str) -> str | None:
    """The renderer an organization's try-ons must use instead of the configured one, or None.

    Test mode (a sandbox organization) always renders with the local preview compositor, whatever engine
    live mode is configured with: test keys never spend money on a paid engine, and test results are
    plainly previews (the try-on records `renderer: local`).
    """
    if Organization.objects.filter(pk=organization_id, sandbox_of__isnull=False).exists():
        return "local"
    return None
