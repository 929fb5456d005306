"""What every hosted engine client does: submit a render, report its status, cancel it, clean up after it."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tryons.controls import Controls
from tryons.renderers.base import PermanentRenderError, RetryableRenderError


class EngineThrottled(RetryableRenderError):
    """HTTP 429 (rate or concurrency limit): back off, for `retry_after` seconds when the provider says.
    `reason` is the provider's own name for the 429 (its body's `error`), when it gives one."""

    code = "engine_throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, reason: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason


class EngineUnavailable(RetryableRenderError):
    """5xx, 408, a timeout or a connection failure: back off and try the same step again. `status` is the
    provider's HTTP status when it answered (None for a network failure), `headers` its answer's headers
    (names in lower case), which tell a provider's own failure from its gateway's."""

    code = "engine_unavailable"

    def __init__(self, message: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class EngineRejected(PermanentRenderError):
    """The provider refused the request (4xx): trying again cannot help."""

    code = "engine_rejected"


class EngineOutOfCredits(PermanentRenderError):
    """The account with the provider has no credits left: no retry helps until an operator refills it, so
    the item fails at once and the engine's circuit opens (the fallback takes the next items)."""

    code = "engine_unavailable"  # to the partner: the engine could not take it; the operator gets the alert
    circuit_reason = "out_of_credits"  # opens the engine's circuit at once (tryons.engines.circuit)


@dataclass(frozen=True)
class Submission:
    provider_job_id: str
    urls: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderStatus:
    state: str  # queued | running | succeeded | failed
    raw: str  # the provider's own status word
    output: str = ""  # the result: an https URL or a data URI
    error: str = ""
    render_ms: int | None = None  # the provider's own figure, when it reports one
    cost: Decimal | None = None
    cost_unit: str = ""


@dataclass(frozen=True)
class EngineInputs:
    person: str  # data URI or short-lived signed URL of our copy
    garment: str
    category: str  # ours: tops, bottoms, dresses, outerwear, one-pieces
    quality: str  # a render quality's name (tryons.qualities)
    job_id: str
    inline_bytes: int = 0  # image bytes carried in the request itself (data URIs)
    controls: Controls = Controls()


class Engine(Protocol):
    """A hosted engine's client; tryons.renderers.registry names each one's class."""

    name: str
    model: str

    @classmethod
    def from_settings(cls, s) -> "Engine":
        """The client as the engine settings (tryons.engines.settings.EngineSettings) configure it."""

    def submit(self, inputs: EngineInputs) -> Submission: ...

    def status(self, provider_job_id: str, urls: dict) -> ProviderStatus: ...

    def cancel(self, provider_job_id: str, urls: dict) -> None: ...

    def cleanup(self, provider_job_id: str, urls: dict) -> None: ...
