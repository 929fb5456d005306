"""Renderer backends, chosen by `settings.TRYON_RENDERER`: local (default), http, eventbridge."""

from django.conf import settings

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
    "get_renderer",
]


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
    raise ValueError(f"unknown renderer {name!r}")
