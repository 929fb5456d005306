"""FASHN (https://docs.fashn.ai): `POST /v1/run`, then `GET /v1/status/{id}`, with `Authorization: Bearer`.

Request   {"model_name": FASHN_MODEL, "inputs": {"model_image", "garment_image", "category", "mode",
          "return_base64": true, and the render controls the model takes (garment_photo_type, seed,
          output_format: tryons.renderers.registry)}}; images are URLs or base64 data URIs.
Answer    {"id": "...", "error": null}
Status    {"id", "status": starting | in_queue | processing | completed | failed | canceled | time_out,
           "output": ["<url or data URI>"], "error": {"name", "message"} | null}
Errors    400 BadRequest, 401 UnauthorizedAccess, 404 NotFound, 429 RateLimitExceeded /
          ConcurrencyLimitExceeded / OutOfCredits, 500 InternalServerError: {"error", "message"}. The first
          two are throttling (back off); OutOfCredits is not: no retry helps until the account is refilled.
`return_base64: true` keeps the output off FASHN's CDN (their docs: such outputs are not stored), so there
is nothing to delete afterwards; FASHN stores no input images, only the request body with URLs (ours expire)
or a `<base64>` placeholder. FASHN has no cancel endpoint: a timed-out prediction is left to finish.
"""

from tryons.controls import provider_inputs
from tryons.engines import api
from tryons.engines.base import (
    EngineInputs,
    EngineOutOfCredits,
    EngineRejected,
    EngineThrottled,
    ProviderStatus,
    Submission,
)
from tryons.engines.settings import EngineSettings
from tryons.qualities import QUALITIES
from tryons.renderers.registry import renderer_honours

# Our categories in FASHN's vocabulary (tops, bottoms, one-pieces; "auto" is never sent: we know).
CATEGORIES = {
    "tops": "tops",
    "outerwear": "tops",
    "bottoms": "bottoms",
    "dresses": "one-pieces",
    "one-pieces": "one-pieces",
}
# FASHN's speed/quality trade-off (5 s, 8 s, 12-17 s for tryon-v1.6); tryons.qualities maps ours onto it.
MODES = ("performance", "balanced", "quality")
STATES = {
    "starting": "queued",
    "in_queue": "queued",
    "processing": "running",
    "completed": "succeeded",
    "failed": "failed",
    "canceled": "failed",
    # fashn-python-sdk src/fashn/types/prediction_status_response.py lists time_out among the statuses
    "time_out": "failed",
}
# FASHN docs, "Error handling" (docs.fashn.ai/api-overview/error-handling): 429 OutOfCredits, "No API credits
# remaining", "Refill credits before retrying"; the others: RateLimitExceeded, ConcurrencyLimitExceeded.
OUT_OF_CREDITS = "OutOfCredits"


class FashnEngine:
    name = "fashn"

    def __init__(self, *, api_key: str, api_url: str, model: str, timeout: float):
        self.api_url = api_url
        self.model = model
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.honours = renderer_honours(self.name, model)

    @classmethod
    def from_settings(cls, s: EngineSettings) -> "FashnEngine":
        return cls(
            api_key=s.fashn_api_key, api_url=s.fashn_api_url, model=s.fashn_model, timeout=s.http_timeout
        )

    def submit(self, inputs: EngineInputs) -> Submission:
        answer = self._call(
            "POST",
            f"{self.api_url}/run",
            payload={
                "model_name": self.model,
                "inputs": {
                    "model_image": inputs.person,
                    "garment_image": inputs.garment,
                    "category": CATEGORIES[inputs.category],
                    "mode": QUALITIES[inputs.quality].fashn_mode,
                    "return_base64": True,
                    **provider_inputs(self.honours, inputs.controls),
                },
            },
        )
        if answer.get("error") or not answer.get("id"):
            raise EngineRejected(f"FASHN refused the prediction: {answer.get('error') or 'no id'}")
        return Submission(provider_job_id=str(answer["id"]))

    def status(self, provider_job_id: str, urls: dict) -> ProviderStatus:
        answer = self._call("GET", f"{self.api_url}/status/{provider_job_id}")
        raw = str(answer.get("status", ""))
        state = STATES.get(raw)
        if state is None:
            raise EngineRejected(f"FASHN reported an unknown status {raw[:40]!r}.")
        error = answer.get("error")
        if isinstance(error, dict):
            error = ": ".join(str(error[k]) for k in ("name", "message") if error.get(k))
        output = answer.get("output") or []
        if state == "succeeded" and not (isinstance(output, list) and output and isinstance(output[0], str)):
            return ProviderStatus(state="failed", raw=raw, error="FASHN completed without an output image.")
        return ProviderStatus(
            state=state,
            raw=raw,
            output=output[0] if state == "succeeded" else "",
            error=str(error or "")[:300],
        )

    def _call(self, method: str, url: str, *, payload: dict | None = None) -> dict:
        """One FASHN call; of its three 429s, OutOfCredits is raised as EngineOutOfCredits."""
        try:
            return api.call("FASHN", method, url, headers=self.headers, timeout=self.timeout, payload=payload)
        except EngineThrottled as exc:
            if exc.reason == OUT_OF_CREDITS:
                raise EngineOutOfCredits(
                    f"FASHN answered HTTP 429 {OUT_OF_CREDITS}: the FASHN account has no API credits left."
                ) from None
            raise

    def cancel(self, provider_job_id: str, urls: dict) -> None:
        pass  # FASHN documents no cancel endpoint

    def cleanup(self, provider_job_id: str, urls: dict) -> None:
        pass  # return_base64: the output was never stored on FASHN's CDN
