"""Renderer backends, chosen by `settings.TRYON_RENDERER` (or per item, tryons.engines.selection) among those
tryons.renderers.registry declares."""

from django.conf import settings
from django.utils.module_loading import import_string

from organizations.models import Organization
from tryons.renderers.base import (
    PermanentRenderError,
    RenderAccepted,
    Renderer,
    RenderError,
    RenderRequest,
    RenderResult,
    RetryableRenderError,
)
from tryons.renderers.registry import RENDERERS, TEST_MODE_RENDERER

__all__ = [
    "PermanentRenderError",
    "RenderAccepted",
    "RenderError",
    "RenderRequest",
    "RenderResult",
    "Renderer",
    "RetryableRenderError",
    "get_renderer",
    "renderer_override",
]


def get_renderer(name: str | None = None) -> Renderer:
    name = name or settings.TRYON_RENDERER
    kind = RENDERERS.get(name)
    if kind is None:
        raise ValueError(f"unknown renderer {name!r}")
    if kind.engine:
        from tryons.renderers.hosted import HostedEngineRenderer

        return HostedEngineRenderer(kind.name)
    return import_string(kind.builder)()


def renderer_override(organization_id: str) -> str | None:
    """The renderer an organization's try-ons must use instead of the configured one, or None.

    Test mode (a sandbox organization) always renders with the local preview compositor, whatever engine
    live mode is configured with: test keys never spend money on a paid engine, and test results are
    plainly previews (the try-on records `renderer: local`).
    """
    if Organization.objects.filter(pk=organization_id, sandbox_of__isnull=False).exists():
        return TEST_MODE_RENDERER
    return None
