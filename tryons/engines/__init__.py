"""Hosted try-on engines (FASHN, fal.ai, Replicate): clients, which engine renders what, and their circuits.

An engine renders without holding a worker: `tryons.renderers.hosted` hands back a job, which
`tryons.services.engine_jobs` submits (answering RenderAccepted) and polls on a schedule (countdown tasks),
under a per-engine cap of jobs in flight, settling the item exactly once through the usual settlement rules.
"""

from django.utils.module_loading import import_string

from tryons.engines.base import Engine
from tryons.engines.settings import engine_settings
from tryons.renderers.registry import ENGINES, RENDERERS


def engine_client(name: str) -> Engine:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}")
    return import_string(RENDERERS[name].client).from_settings(engine_settings())


__all__ = ["ENGINES", "engine_client", "engine_settings"]
