"""The renderer interface: one item in, a result image (or "accepted, the result will come back") out."""

from dataclasses import dataclass
from typing import Protocol

from tryons.controls import Controls
from tryons.qualities import QUALITIES


@dataclass(frozen=True)
class RenderRequest:
    tryon_id: str
    organization_id: str
    category: str
    quality: str
    background_scene: str
    person_image: bytes
    person_photo_key: str
    garment_image: bytes
    garment_url: str
    # Unique per render attempt; an asynchronous backend's callback must quote it.
    job_id: str = ""
    controls: Controls = Controls()

    @property
    def size(self) -> tuple[int, int]:
        return QUALITIES[self.quality].size


@dataclass(frozen=True)
class RenderResult:
    image: bytes
    content_type: str  # image/jpeg or image/png


@dataclass(frozen=True)
class RenderAccepted:
    """An asynchronous backend took the job; the result arrives later through the callback endpoint."""

    job_id: str


@dataclass(frozen=True)
class HostedJob:
    """A hosted engine's answer: the attempt to record as an engine job on `engine` and submit under that
    engine's cap. The pipeline places it (tryons.services.engine_jobs); the result comes back by polling."""

    engine: str
    request: RenderRequest


class RenderError(Exception):
    code = "render_failed"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class RetryableRenderError(RenderError):
    """Worth trying again after a pause: timeouts, 5xx, throttling, a renderer restarting."""

    code = "renderer_unavailable"


class PermanentRenderError(RenderError):
    """Trying again cannot help: an unusable garment image, a request the renderer rejects."""

    code = "render_rejected"


class Renderer(Protocol):
    name: str

    def render(self, request: RenderRequest) -> RenderResult | RenderAccepted | HostedJob: ...
