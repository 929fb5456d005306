"""Hosted try-on engines (FASHN, fal.ai, Replicate): clients, which engine renders what, and their circuits.

An engine renders without holding a worker: `tryons.renderers.hosted` submits the job and returns
RenderAccepted; `tryons.services.engine_jobs` polls it on a schedule (countdown tasks), under a per-engine
cap of jobs in flight, and settles the item exactly once through the usual settlement rules.
"""

from tryons.engines.base import Engine
from tryons.engines.settings import ENGINES, engine_settings


def engine_client(name: str) -> Engine:
    s = engine_settings()
    if name == "fashn":
        from tryons.engines.fashn import FashnEngine

        return FashnEngine(
            api_key=s.fashn_api_key, api_url=s.fashn_api_url, model=s.fashn_model, timeout=s.http_timeout
        )
    if name == "fal":
        from tryons.engines.fal import FalEngine

        return FalEngine(
            key=s.fal_key,
            queue_url=s.fal_queue_url,
            api_url=s.fal_api_url,
            model=s.fal_model,
            timeout=s.http_timeout,
        )
    if name == "replicate":
        from tryons.engines.replicate import ReplicateEngine

        return ReplicateEngine(
            token=s.replicate_api_token,
            api_url=s.replicate_api_url,
            model=s.replicate_model,
            timeout=s.http_timeout,
        )
    raise ValueError(f"unknown engine {name!r}")


__all__ = ["ENGINES", "engine_client", "engine_settings"]
