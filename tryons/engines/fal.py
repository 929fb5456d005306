"""fal.ai queue API (https://docs.fal.ai/model-apis/inference/queue), with `Authorization: Key <FAL_KEY>`.

Submit    POST https://queue.fal.run/{model_id}  (body: the model's input)  with `X-Fal-Store-IO: 0`, so fal
          keeps no copy of the request and response payloads, and `X-Fal-Object-Lifecycle-Preference`, so the
          files it puts on its CDN for the request expire after FAL_OBJECT_EXPIRATION_SECONDS.
          → {"request_id", "status_url", "response_url", "cancel_url", "queue_position"}
Status    GET {status_url} → {"status": IN_QUEUE | IN_PROGRESS | COMPLETED, "queue_position", "metrics":
          {"inference_time"}}; a failed request is COMPLETED with an `error`, or its result answers 4xx/5xx.
          fal retries a queued request itself (up to 10 times) before it marks it failed, so a COMPLETED
          request whose result answers 5xx ({"detail", "error_type"}, e.g. request_timeout 504,
          runner_disconnected 503) is final: the item fails, nothing is re-polled or cancelled.
Result    GET {response_url} → the model's output, {"image": {"url", "content_type"}} for the try-on models.
Cancel    PUT {cancel_url} (queued requests are removed; running ones are signalled).
Delete    DELETE https://api.fal.ai/v1/models/requests/{request_id}/payloads removes the output files on fal's
          CDN (it needs an admin key; a refusal is logged, not fatal).
The status, response and cancel URLs are fal's to choose (a model id with a sub-path polls its app's root),
so they are taken from the submit answer, and called with our key only on the configured queue origin.
"""

import json
import logging

from django.core.exceptions import ImproperlyConfigured

from tryons.controls import provider_inputs
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
from tryons.renderers.registry import renderer_honours

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
    # fal-js libs/client/src/types/endpoints.ts, VTONInput: garment_type (upper_body | lower_body | dresses)
    return {
        "human_image_url": i.person,
        "garment_image_url": i.garment,
        "garment_type": _UPPER_LOWER_DRESS[i.category],
    }


def _kolors(i: EngineInputs) -> dict:
    # fal.ai/models/fal-ai/kling/v1-5/kolors-virtual-try-on: human_image_url and garment_image_url only (no
    # category: it reads the garment image, which may show a top and a bottom together; see the registry).
    return {"human_image_url": i.person, "garment_image_url": i.garment}


def _fashn(i: EngineInputs) -> dict:
    return {"model_image": i.person, "garment_image": i.garment, "category": _FASHN_CATEGORIES[i.category],
            "mode": QUALITIES[i.quality].fashn_mode}  # fmt: skip


# Each try-on model's input fields and category vocabulary, as its fal model page documents them.
MODEL_INPUTS = {
    "fal-ai/cat-vton": _cat_vton,
    "fal-ai/idm-vton": _idm_vton,
    "fal-ai/leffa/virtual-tryon": _leffa,
    "fal-ai/kling/v1-5/kolors-virtual-try-on": _kolors,
    "fal-ai/fashn/tryon/v1.5": _fashn,
    "fal-ai/fashn/tryon/v1.6": _fashn,
}
STATES = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}
# fal_client/client.py RETRY_CODES: fal's own client retries 409 as it does 408 and 429.
RETRY_STATUSES = (409,)


def _gateway_error(exc: EngineUnavailable) -> bool:
    """A 502/503/504 from fal's ingress, not from the request: fal_client/client.py `_is_ingress_error` (no
    x-fal-request-id: not returned by fal's server), which its client retries. A failure of the request itself
    names its type (docs.fal.ai, "Request Error Types": X-Fal-Error-Type)."""
    return (
        exc.status in (502, 503, 504)
        and "x-fal-request-id" not in exc.headers
        and "x-fal-error-type" not in exc.headers
    )


def fal_model_inputs(model: str):
    try:
        return MODEL_INPUTS[model]
    except KeyError:
        raise ImproperlyConfigured(
            f"FAL_MODEL must be one of {', '.join(MODEL_INPUTS)}, got {model!r}"
        ) from None


def fal_settings_check(setting) -> None:
    """Start-up check of the fal renderer (tryons.renderers.registry): an unknown model fails there, and so
    does an output lifetime shorter than the render timeout (a job's result may be fetched until then)."""
    fal_model_inputs(setting("FAL_MODEL"))
    expiration = setting("FAL_OBJECT_EXPIRATION_SECONDS")
    render_timeout = setting("TRYON_RENDER_TIMEOUT_SECONDS")
    if expiration < render_timeout:
        raise ImproperlyConfigured(
            "FAL_OBJECT_EXPIRATION_SECONDS must be at least TRYON_RENDER_TIMEOUT_SECONDS "
            f"({render_timeout}), got {expiration}"
        )


class FalEngine:
    name = "fal"

    def __init__(
        self, *, key: str, queue_url: str, api_url: str, model: str, timeout: float, expiration_seconds: int
    ):
        self.queue_url = queue_url
        self.api_url = api_url
        self.model = model
        self.inputs = fal_model_inputs(model)
        self.honours = renderer_honours(self.name, model)
        self.timeout = timeout
        self.headers = {"Authorization": f"Key {key}"}
        self.submit_headers = {
            **self.headers,
            # fal docs, "Data Retention & Storage": X-Fal-Store-IO: 0 keeps the JSON payloads unstored.
            "X-Fal-Store-IO": "0",
            # fal docs, "Data Retention & Storage", Per-Request Expiration: the CDN files of this request.
            "X-Fal-Object-Lifecycle-Preference": json.dumps(
                {"expiration_duration_seconds": expiration_seconds}
            ),
        }

    @classmethod
    def from_settings(cls, s: EngineSettings) -> "FalEngine":
        return cls(
            key=s.fal_key,
            queue_url=s.fal_queue_url,
            api_url=s.fal_api_url,
            model=s.fal_model,
            timeout=s.http_timeout,
            expiration_seconds=s.fal_object_expiration_seconds,
        )

    def _call(self, method: str, url: str, *, headers: dict | None = None, payload: dict | None = None):
        return api.call(
            "fal.ai",
            method,
            url,
            headers=headers or self.headers,
            timeout=self.timeout,
            payload=payload,
            retry_statuses=RETRY_STATUSES,
        )

    def _provider_url(self, urls: dict, name: str) -> str:
        url = urls.get(name, "")
        if not url or not api.same_origin(url, self.queue_url):
            raise EngineRejected(f"fal.ai gave a {name} off its queue origin; not sending our key there.")
        return url

    def submit(self, inputs: EngineInputs) -> Submission:
        answer = self._call(
            "POST",
            f"{self.queue_url}/{self.model}",
            headers=self.submit_headers,
            payload={**self.inputs(inputs), **provider_inputs(self.honours, inputs.controls)},
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
        answer = self._call("GET", self._provider_url(urls, "status_url"))
        raw = str(answer.get("status", ""))
        state = STATES.get(raw)
        if state is None:
            if raw in ("FAILED", "CANCELED", "CANCELLED"):
                return ProviderStatus(state="failed", raw=raw, error=str(answer.get("error") or raw)[:300])
            raise EngineRejected(f"fal.ai reported an unknown status {raw[:40]!r}.")
        if state != "succeeded":
            return ProviderStatus(state=state, raw=raw)
        # fal docs, "Request Error Types": a failed request names its `error_type` beside the `error`.
        if answer.get("error") or answer.get("error_type"):
            error = ": ".join(str(answer[k]) for k in ("error", "error_type") if answer.get(k))
            return ProviderStatus(state="failed", raw=raw, error=error[:300])
        metrics = answer.get("metrics") or {}
        inference = metrics.get("inference_time") if isinstance(metrics, dict) else None
        try:
            result = self._call("GET", self._provider_url(urls, "response_url"))
        except EngineThrottled:
            raise
        except EngineUnavailable as exc:
            # fal docs, "Retries and Error Handling": a queued request is retried up to 10 times before it
            # is marked failed, so a completed request's 5xx result is that final failure (request_timeout
            # 504, runner_disconnected 503...); a network failure, a 408/409 or a gateway's 5xx is only this
            # fetch's, and the result is fetched again at the next poll.
            if exc.status is not None and exc.status >= 500 and not _gateway_error(exc):
                return ProviderStatus(
                    state="failed", raw=raw, error=f"failed after fal's retries: {exc}"[:300]
                )
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
        self._call("PUT", self._provider_url(urls, "cancel_url"))

    def cleanup(self, provider_job_id: str, urls: dict) -> None:
        self._call(
            "DELETE",
            f"{self.api_url}/models/requests/{provider_job_id}/payloads",
            headers={**self.headers, "Idempotency-Key": provider_job_id},
        )
