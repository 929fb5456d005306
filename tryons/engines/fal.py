"""fal.ai queue API (https://docs.fal.ai/model-apis/inference/queue), with `Authorization: Key <FAL_KEY>`.

Submit    POST https://queue.fal.run/{model_id}  (body: the model's input)  with `X-Fal-Store-IO: 0`, so fal
          keeps no copy of the request and response payloads.
          → {"request_id", "status_url", "response_url", "cancel_url", "queue_position"}
Status    GET {status_url} → {"status": IN_QUEUE | IN_PROGRESS | COMPLETED, "queue_position", "metrics":
          {"inference_time"}}; a failed request is COMPLETED with an `error`, or its result answers 4xx/5xx.
Result    GET {response_url} → the model's output, {"image": {"url", "content_type"}} for the try-on models.
Cancel    PUT {cancel_url} (queued requests are removed; running ones are signalled).
Delete    DELETE https://api.fal.ai/v1/models/requests/{request_id}/payloads removes the output files on fal's
          CDN (it needs an admin key; a refusal is logged, not fatal).
The status, response and cancel URLs are fal's to choose (a model id with a sub-path polls its app's root),
so they are taken from the submit answer, and called with our key only on the configured queue origin.
"""

import logging

from django.core.exceptions import ImproperlyConfigured

from tryons.engines import api
from tryons.engines.base import (
    EngineInputs,
    EngineRejected,
    EngineThrottled,
    EngineUnavailable,
    ProviderStatus,
    Submission,
)
from tryons.engines.settings import EngineSettings
from tryons.qualities import QUALITIES

logger = logging.getLogger(__name__)

_UPPER_LOWER_DRESS = {
    "tops": "upper_body",
    "outerwear": "upper_body",
    "bottoms": "lower_body",
    "dresses": "dresses",
    "one-pieces": "dresses",
}
_FASHN_CATEGORIES = {
    "tops": "tops",
    "outerwear": "tops",
    "bottoms": "bottoms",
    "dresses": "one-pieces",
    "one-pieces": "one-pieces",
}


def _cat_vton(i: EngineInputs) -> dict:
    cloth_type = {"tops": "upper", "outerwear": "outer", "bottoms": "lower", "dresses": "overall",
                  "one-pieces": "overall"}[i.category]  # fmt: skip
    return {"human_image_url": i.person, "garment_image_url": i.garment, "cloth_type": cloth_type}


def _idm_vton(i: EngineInputs) -> dict:
    # IDM-VTON takes a text description of the garment instead of a category.
    return {
        "human_image_url": i.person,
        "garment_image_url": i.garment,
        "description": i.category.replace("-", " "),
    }


def _leffa(i: EngineInputs) -> dict:
    return {
        "human_image_url": i.person,
        "garment_image_url": i.garment,
        "garment_type": _UPPER_LOWER_DRESS[i.category],
    }


def _fashn(i: EngineInputs) -> dict:
    return {"model_image": i.person, "garment_image": i.garment, "category": _FASHN_CATEGORIES[i.category],
            "mode": QUALITIES[i.quality].fashn_mode}  # fmt: skip


# Each try-on model's input fields and category vocabulary, as its fal model page documents them.
MODEL_INPUTS = {
    "fal-ai/cat-vton": _cat_vton,
    "fal-ai/idm-vton": _idm_vton,
    "fal-ai/leffa/virtual-tryon": _leffa,
    "fal-ai/fashn/tryon/v1.5": _fashn,
    "fal-ai/fashn/tryon/v1.6": _fashn,
}
STATES = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}


def fal_model_inputs(model: str):
    try:
        return MODEL_INPUTS[model]
    except KeyError:
        raise ImproperlyConfigured(
            f"FAL_MODEL must be one of {', '.join(MODEL_INPUTS)}, got {model!r}"
        ) from None


def fal_settings_check(setting) -> None:
    """Start-up check of the fal renderer (tryons.renderers.registry): an unknown model fails there."""
    fal_model_inputs(setting("FAL_MODEL"))


class FalEngine:
    name = "fal"

    def __init__(self, *, key: str, queue_url: str, api_url: str, model: str, timeout: float):
        self.queue_url = queue_url
        self.api_url = api_url
        self.model = model
        self.inputs = fal_model_inputs(model)
        self.timeout = timeout
        self.headers = {"Authorization": f"Key {key}"}

    @classmethod
    def from_settings(cls, s: EngineSettings) -> "FalEngine":
        return cls(
            key=s.fal_key,
            queue_url=s.fal_queue_url,
            api_url=s.fal_api_url,
            model=s.fal_model,
            timeout=s.http_timeout,
        )

    def _provider_url(self, urls: dict, name: str) -> str:
        url = urls.get(name, "")
        if not url or not api.same_origin(url, self.queue_url):
            raise EngineRejected(f"fal.ai gave a {name} off its queue origin; not sending our key there.")
        return url

    def submit(self, inputs: EngineInputs) -> Submission:
        answer = api.call(
            "fal.ai",
            "POST",
            f"{self.queue_url}/{self.model}",
            headers={**self.headers, "X-Fal-Store-IO": "0"},
            timeout=self.timeout,
            payload=self.inputs(inputs),
        )
        request_id = answer.get("request_id")
        if not request_id:
            raise EngineRejected("fal.ai answered without a request_id.")
        urls = {
            k: answer[k]
            for k in ("status_url", "response_url", "cancel_url")
            if isinstance(answer.get(k), str)
        }
        for name in ("status_url", "response_url"):
            self._provider_url(urls, name)
        return Submission(provider_job_id=str(request_id), urls=urls)

    def status(self, provider_job_id: str, urls: dict) -> ProviderStatus:
        answer = api.call(
            "fal.ai",
            "GET",
            self._provider_url(urls, "status_url"),
            headers=self.headers,
            timeout=self.timeout,
        )
        raw = str(answer.get("status", ""))
        state = STATES.get(raw)
        if state is None:
            if raw in ("FAILED", "CANCELED", "CANCELLED"):
                return ProviderStatus(state="failed", raw=raw, error=str(answer.get("error") or raw)[:300])
            raise EngineRejected(f"fal.ai reported an unknown status {raw[:40]!r}.")
        if state != "succeeded":
            return ProviderStatus(state=state, raw=raw)
        if answer.get("error"):
            return ProviderStatus(state="failed", raw=raw, error=str(answer["error"])[:300])
        metrics = answer.get("metrics") or {}
        inference = metrics.get("inference_time") if isinstance(metrics, dict) else None
        try:
            result = api.call(
                "fal.ai",
                "GET",
                self._provider_url(urls, "response_url"),
                headers=self.headers,
                timeout=self.timeout,
            )
        except (EngineThrottled, EngineUnavailable):
            raise
        except EngineRejected as exc:  # the model's own failure (e.g. 422 on unusable inputs)
            return ProviderStatus(state="failed", raw=raw, error=str(exc)[:300])
        image = result.get("image") or (result.get("images") or [None])[0]
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url:
            return ProviderStatus(state="failed", raw=raw, error="fal.ai completed without an output image.")
        return ProviderStatus(
            state="succeeded",
            raw=raw,
            output=url,
            render_ms=int(float(inference) * 1000) if isinstance(inference, int | float) else None,
        )

    def cancel(self, provider_job_id: str, urls: dict) -> None:
        api.call(
            "fal.ai",
            "PUT",
            self._provider_url(urls, "cancel_url"),
            headers=self.headers,
            timeout=self.timeout,
        )

    def cleanup(self, provider_job_id: str, urls: dict) -> None:
        api.call(
            "fal.ai",
            "DELETE",
            f"{self.api_url}/models/requests/{provider_job_id}/payloads",
            headers={**self.headers, "Idempotency-Key": provider_job_id},
            timeout=self.timeout,
        )
