"""`fashn`, `fal`, `replicate`: a hosted engine renders the item while no worker waits for it.

`render` answers with the job to start (a HostedJob), not a result: the pipeline (tryons.services.
engine_jobs.engine_job_place) keeps a copy of the garment (the provider reads our copy, never the partner's
URL), records the attempt as an EngineJob and submits it if the engine has a free slot under
TRYON_ENGINE_MAX_IN_FLIGHT; otherwise the job waits for one. Polling, the result download and settlement
happen in tryons.services.engine_polls, on countdown tasks. A renderer knows nothing of the pipeline.
"""

from tryons.renderers.base import HostedJob, RenderRequest


class HostedEngineRenderer:
    def __init__(self, name: str):
        self.name = name

    def render(self, request: RenderRequest) -> HostedJob:
        return HostedJob(engine=self.name, request=request)
