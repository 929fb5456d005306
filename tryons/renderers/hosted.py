"""`fashn`, `fal`, `replicate`: a hosted engine renders the item while no worker waits for it.

`render` keeps a copy of the garment (the provider reads our copy, never the partner's URL), records the
attempt as an EngineJob and submits it if the engine has a free slot under TRYON_ENGINE_MAX_IN_FLIGHT;
otherwise the job waits for one. Either way it returns RenderAccepted at once: polling, the result download
and settlement happen in tryons.services.engine_jobs, on countdown tasks.
"""

from tryons.renderers.base import RenderAccepted, RenderRequest, RetryableRenderError


class HostedEngineRenderer:
    def __init__(self, name: str):
        self.name = name

    def render(self, request: RenderRequest) -> RenderAccepted:
        from tryons.services.engine_jobs import engine_job_start

        try:
            engine_job_start(request=request, engine=self.name)
        except OSError as exc:  # storage of the garment copy
            raise RetryableRenderError(f"Could not store the garment copy: {type(exc).__name__}") from None
        return RenderAccepted(job_id=request.job_id)
