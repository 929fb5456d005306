"""Replicate predictions API (https://replicate.com/docs/reference/http), `Authorization: Bearer <token>`.

REPLICATE_MODEL picks the endpoint:
  "owner/name:version"       POST /v1/predictions {"version": "<version>", "input": {...}}
  "owner/name"               POST /v1/models/owner/name/predictions {"input": {...}}  (official models only:
                             start-up refuses a community model without its version)
  "deployments/owner/name"   POST /v1/deployments/owner/name/predictions {"input": {...}}
Answer/status  {"id", "status": starting | processing | succeeded | failed | canceled | aborted,
               "output": "<url>" | ["<url>", ...], "error", "metrics": {"predict_time"},
               "urls": {"get", "cancel"}}
Errors         problem details {"title", "detail", "status"}; a 429 says when to come back only in its words
               ("Your rate limit resets in ~30s", read by tryons.engines.api).
Input fields are IDM-VTON's (cuuupid/idm-vton): human_img, garm_img, garment_des, category
(upper_body | lower_body | dresses). Replicate deletes an API prediction's inputs, outputs and logs one hour
after it finishes and offers no delete call; a timed-out prediction is cancelled (POST urls.cancel).
"""

from django.core.exceptions import ImproperlyConfigured

from tryons.controls import provider_inputs
from tryons.engines import api
from tryons.engines.base import EngineInputs, EngineRejected, ProviderStatus, Submission
from tryons.engines.settings import EngineSettings
from tryons.renderers.registry import RENDERERS, engine_model, renderer_honours

CATEGORIES = {
    "tops": "upper_body",
    "outerwear": "upper_body",
    "bottoms": "lower_body",
    "dresses": "dresses",
    "one-pieces": "dresses",
}
STATES = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
    "aborted": "failed",
}


def replicate_settings_check(setting) -> None:
    """Start-up check of the replicate renderer (tryons.renderers.registry): a model Replicate cannot run as
    configured fails here, not on the first try-on."""
    model = setting("REPLICATE_MODEL")
    if model.startswith("deployments/"):
        return
    name, _, version = model.partition(":")
    if version:
        return
    declared = engine_model(RENDERERS[ReplicateEngine.name], model)
    # replicate.com/docs, "Create a prediction using an official model": owner/name alone runs official
    # models only; a community model is run at a version (replicate-javascript#347: a 404 otherwise).
    if declared is None or not declared.official:
        raise ImproperlyConfigured(
            f"REPLICATE_MODEL={model} is not an official Replicate model: give the version to run "
            f"({name}:<version>) or a deployment (deployments/<owner>/<name>)"
        )


class ReplicateEngine:
    name = "replicate"

    def __init__(self, *, token: str, api_url: str, model: str, timeout: float):
        self.api_url = api_url
        self.model = model
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"}
        self.honours = renderer_honours(self.name, model)

    @classmethod
    def from_settings(cls, s: EngineSettings) -> "ReplicateEngine":
        return cls(
            token=s.replicate_api_token,
            api_url=s.replicate_api_url,
            model=s.replicate_model,
            timeout=s.http_timeout,
        )

    def _endpoint(self, inputs: dict) -> tuple[str, dict]:
        if self.model.startswith("deployments/"):
            return f"{self.api_url}/{self.model}/predictions", {"input": inputs}
        name, _, version = self.model.partition(":")
        if version:
            # replicate.com/docs/reference/http, "predictions.create": a model version by its id
            return f"{self.api_url}/predictions", {"version": version, "input": inputs}
        return f"{self.api_url}/models/{name}/predictions", {"input": inputs}

    def submit(self, inputs: EngineInputs) -> Submission:
        url, payload = self._endpoint(
            {
                "human_img": inputs.person,
                "garm_img": inputs.garment,
                "garment_des": inputs.category.replace("-", " "),
                "category": CATEGORIES[inputs.category],
                **provider_inputs(self.honours, inputs.controls),
            }
        )
        answer = api.call(
            "Replicate", "POST", url, headers=self.headers, timeout=self.timeout, payload=payload
        )
        if not answer.get("id"):
            raise EngineRejected("Replicate answered without a prediction id.")
        urls = answer.get("urls") if isinstance(answer.get("urls"), dict) else {}
        return Submission(
            provider_job_id=str(answer["id"]),
            urls={
                k: v for k, v in urls.items() if k in ("get", "cancel") and api.same_origin(v, self.api_url)
            },
        )

    def status(self, provider_job_id: str, urls: dict) -> ProviderStatus:
        url = urls.get("get") or f"{self.api_url}/predictions/{provider_job_id}"
        answer = api.call("Replicate", "GET", url, headers=self.headers, timeout=self.timeout)
        raw = str(answer.get("status", ""))
        state = STATES.get(raw)
        if state is None:
            raise EngineRejected(f"Replicate reported an unknown status {raw[:40]!r}.")
        output = answer.get("output")
        if isinstance(output, list):
            output = output[0] if output else None
        metrics = answer.get("metrics") if isinstance(answer.get("metrics"), dict) else {}
        predict = metrics.get("predict_time")
        if state == "succeeded" and not (isinstance(output, str) and output):
            return ProviderStatus(
                state="failed", raw=raw, error="Replicate succeeded without an output image."
            )
        return ProviderStatus(
            state=state,
            raw=raw,
            output=output if state == "succeeded" else "",
            error=str(answer.get("error") or ("canceled" if raw == "canceled" else ""))[:300],
            render_ms=int(float(predict) * 1000) if isinstance(predict, int | float) else None,
        )

    def cancel(self, provider_job_id: str, urls: dict) -> None:
        url = urls.get("cancel") or f"{self.api_url}/predictions/{provider_job_id}/cancel"
        api.call("Replicate", "POST", url, headers=self.headers, timeout=self.timeout)

    def cleanup(self, provider_job_id: str, urls: dict) -> None:
        pass  # Replicate removes API predictions' data an hour after they finish; it has no delete call
