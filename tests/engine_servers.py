"""Loopback fakes of the hosted try-on engines, one per provider, speaking each documented protocol.

`FakeFashn`, `FakeFal` and `FakeReplicate` accept the provider's own request (path, auth header, field names
and category vocabulary, checked), answer with its own shapes and status words, move each job through the
provider's states (queued, running, then completed or failed) either by polls (`polls_queued`,
`polls_running`: deterministic for tests) or by time (`render_seconds`: the bench's 2 s renders), and serve
the output the way the provider does (FASHN: a base64 data URI; fal and Replicate: a file URL). Scripted
faults: `script` holds (operation, status) answers to give next (429 with Retry-After, 500...); `delay`
slows every answer; `fail_jobs` makes renders fail at the provider. Every request is recorded in `requests`,
and every input image in `inputs_seen`: its field, its form (a data URI, or a URL the fake fetched as the
provider's runner would), its size in bytes and its pixel size.
"""

import base64
import io
import json
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

from PIL import Image

from tests.http_servers import LocalServer, QuietHandler
from tests.images import image_bytes


@dataclass
class Job:
    id: str
    body: dict
    created: float = field(default_factory=time.monotonic)
    polls: int = 0
    cancelled: bool = False
    deleted: bool = False


def _fetched(url: str) -> bytes | None:
    """The image at `url`, as a provider's runner downloads an input; None when it cannot be fetched (a signed
    URL of a test's storage that no server serves)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a test's own loopback URL
            return response.read()
    except (OSError, ValueError):
        return None


def _as_png(jpeg: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(out, "PNG")
    return out.getvalue()


class FakeProvider:
    """Shared machinery; subclasses route the provider's paths."""

    key = "test-key"
    auth_scheme = "Bearer"
    valid_categories: tuple = ()

    def __init__(self, *, render_seconds: float | None = None, polls_queued: int = 1, polls_running: int = 1):
        self.render_seconds = render_seconds
        self.polls_queued, self.polls_running = polls_queued, polls_running
        self.jobs: dict[str, Job] = {}
        self.requests: list[dict] = []
        self.script: list[tuple[str, int]] = []  # (operation, HTTP status) answered next for that operation
        self.delay = 0.0
        self.fail_jobs = False
        self.result = image_bytes(size=(576, 864), color=(40, 120, 200))
        self.lock = threading.Lock()
        self.in_flight_peak = 0
        self.inputs_seen: list[dict] = []
        provider = self

        class Handler(QuietHandler):
            def do_GET(self):
                provider._handle(self, "GET")

            def do_POST(self):
                provider._handle(self, "POST")

            def do_PUT(self):
                provider._handle(self, "PUT")

            def do_DELETE(self):
                provider._handle(self, "DELETE")

        self.server = LocalServer(Handler)

    def url(self, path: str = "") -> str:
        return self.server.url(path)

    def close(self) -> None:
        self.server.stop()

    # --- plumbing ------------------------------------------------------------------------------------
    def _handle(self, handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        record = {"method": method, "path": handler.path, "headers": dict(handler.headers), "body": body}
        with self.lock:
            self.requests.append(record)
        if self.delay:
            time.sleep(self.delay)
        if handler.headers.get("Authorization") != f"{self.auth_scheme} {self.key}" and not self._public(
            handler.path
        ):
            return self._json(handler, 401, self.unauthorized())
        status, payload, headers = self.route(method, handler.path, body)
        if isinstance(payload, bytes):
            return handler.reply(status, payload, {"Content-Type": "image/jpeg", **headers})
        self._json(handler, status, payload, headers)

    def _public(self, path: str) -> bool:
        return path.startswith("/files/")

    def _json(self, handler, status, payload, headers=None) -> None:
        handler.reply(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    def scripted(self, operation: str):
        """The next scripted answer for `operation` (consumed), or None."""
        with self.lock:
            for index, (op, status) in enumerate(self.script):
                if op == operation:
                    del self.script[index]
                    return status
        return None

    def see_inputs(self, values: dict) -> list[dict]:
        """Record each input image in `values` (field -> data URI or URL) as the provider receives it."""
        seen = []
        for name, value in values.items():
            if not isinstance(value, str):
                continue
            if value.startswith("data:"):
                form, data = "data-uri", base64.b64decode(value.partition(",")[2])
            else:
                form, data = "url", _fetched(value)
            size = Image.open(io.BytesIO(data)).size if data else None
            seen.append(
                {"field": name, "form": form, "bytes": len(data or b""), "size": size, "value": value}
            )
        with self.lock:
            self.inputs_seen.extend(seen)
        return seen

    def new_job(self, body: dict) -> Job:
        job = Job(id=str(uuid.uuid4()), body=body)
        with self.lock:
            self.jobs[job.id] = job
            running = sum(1 for j in self.jobs.values() if self.phase(j, peek=True) in ("queued", "running"))
            self.in_flight_peak = max(self.in_flight_peak, running)
        return job

    def phase(self, job: Job, *, peek: bool = False) -> str:
        """queued | running | done | failed | cancelled; a status request (not a peek) counts as a poll."""
        if job.cancelled:
            return "cancelled"
        if not peek:
            job.polls += 1
        if self.render_seconds is not None:
            finished = time.monotonic() - job.created >= self.render_seconds
            return ("failed" if self.fail_jobs else "done") if finished else "running"
        if job.polls <= self.polls_queued:
            return "queued"
        if job.polls <= self.polls_queued + self.polls_running:
            return "running"
        return "failed" if self.fail_jobs else "done"

    def finished_jobs(self) -> int:
        return sum(1 for j in self.jobs.values() if self.phase(j, peek=True) in ("done", "failed"))

    def requests_to(self, method: str, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    def throttled(self, operation: str):
        status = self.scripted(operation)
        if status is None:
            return None
        if status == 429:
            return 429, self.too_many(), {"Retry-After": "1"}
        return status, self.server_error(status), {}


class FakeFashn(FakeProvider):
    """api.fashn.ai/v1: POST /v1/run, GET /v1/status/{id}; errors {"error", "message"}.

    `out_of_credits`: every run is refused as an empty account is; `throttle_error`: which of the two
    throttling 429s a scripted 429 is; `failed_status`: the word a failing render reports (or time_out)."""

    valid_categories = ("tops", "bottoms", "one-pieces", "auto")
    # docs.fashn.ai, "Troubleshooting": oversized base64 payloads are a common cause of a 500. FASHN states no
    # figure; this fake draws the line here, above what our inputs may be (tryons.renderers.registry).
    base64_max_bytes = 4 * 1024 * 1024
    out_of_credits = False
    throttle_error = "RateLimitExceeded"  # or ConcurrencyLimitExceeded
    failed_status = "failed"

    def unauthorized(self):
        return {"error": "UnauthorizedAccess", "message": "Unauthorized: Invalid token"}

    @staticmethod
    def invalid_controls(inputs: dict) -> str:
        """The first control input outside what docs.fashn.ai ("Try-On Parameters") allows, else ""."""
        seed = inputs.get("seed", 0)
        checks = {
            "garment_photo_type": inputs.get("garment_photo_type", "auto") in ("auto", "flat-lay", "model"),
            "output_format": inputs.get("output_format", "png") in ("png", "jpeg"),
            "num_samples": inputs.get("num_samples", 1) in (1, 2, 3, 4),
            "seed": type(seed) is int and 0 <= seed < 2**32,
        }
        return next((name for name, ok in checks.items() if not ok), "")

    def too_many(self):
        return {"error": self.throttle_error, "message": "Too many requests"}

    def server_error(self, status):
        return {"error": "InternalServerError", "message": "Something went wrong"}

    def route(self, method, path, body):
        if method == "POST" and path == "/v1/run":
            if self.out_of_credits:
                # FASHN docs, "Error handling": 429 OutOfCredits, "No API credits remaining"
                return 429, {"error": "OutOfCredits", "message": "No API credits remaining"}, {}
            inputs = (body or {}).get("inputs") or {}
            seen = self.see_inputs({k: inputs.get(k) for k in ("model_image", "garment_image")})
            if any(i["form"] == "data-uri" and i["bytes"] > self.base64_max_bytes for i in seen):
                return 500, self.server_error(500), {}
            if (answer := self.throttled("run")) is not None:
                return answer
            missing = [k for k in ("model_image", "garment_image") if not inputs.get(k)]
            if (
                not body
                or not body.get("model_name")
                or missing
                or inputs.get("category") not in self.valid_categories
            ):
                return (
                    400,
                    {"error": "BadRequest", "message": f"Invalid request: {missing or 'category'}"},
                    {},
                )
            if wrong := self.invalid_controls(inputs):
                return 400, {"error": "BadRequest", "message": f"Invalid request: {wrong}"}, {}
            return 200, {"id": self.new_job(body).id, "error": None}, {}
        if method == "GET" and path.startswith("/v1/status/"):
            if (answer := self.throttled("status")) is not None:
                return answer
            job = self.jobs.get(path.rsplit("/", 1)[1])
            if job is None:
                return 404, {"error": "NotFound", "message": "Prediction not found"}, {}
            phase = self.phase(job)
            # fashn-python-sdk src/fashn/types/prediction_status_response.py: time_out is a final status too
            status = {"queued": "in_queue", "running": "processing", "done": "completed"}.get(
                phase, self.failed_status
            )
            answer = {"id": job.id, "status": status, "output": [], "error": None}
            if phase == "done":
                png = ((job.body.get("inputs") or {}).get("output_format") or "png") == "png"
                image = _as_png(self.result) if png else self.result
                kind = "png" if png else "jpeg"
                answer["output"] = [f"data:image/{kind};base64," + base64.b64encode(image).decode()]
            if phase == "failed" and status == "failed":
                answer["error"] = {
                    "name": "PoseError",
                    "message": "Failed to detect body pose in model image.",
                }
            return 200, answer, {}
        return 404, {"error": "NotFound", "message": "Not found"}, {}


class FakeFal(FakeProvider):
    """queue.fal.run: POST /{model_id}; GET/PUT the returned status/response/cancel URLs; plus the platform
    API's DELETE /v1/models/requests/{id}/payloads. Errors {"detail"}.

    `final_error` (HTTP status, error type): renders end as a request fal marked failed after its own retries:
    COMPLETED, and the result answers that error (with the `error` and `error_type` in the status too when
    `error_in_status`). `gateway_errors`: that many result fetches are answered by fal's ingress instead (a
    502 page from nginx, without the x-fal-request-id fal's own server answers with)."""

    auth_scheme = "Key"
    model = "fal-ai/leffa/virtual-tryon"  # our default (tryons.engines.settings)
    # Each model's input as its fal model page (and fal-js's generated endpoint types) gives it: the two image
    # fields, then the category field and its vocabulary (None: free text, or no category at all), then the
    # optional fields we may send. Stricter than fal, which ignores a field a model does not take: a field
    # sent to a model that has none such is a 422 here, so a test sees it.
    MODELS = {
        "fal-ai/leffa/virtual-tryon": (
            ("human_image_url", "garment_image_url"),
            "garment_type",
            ("upper_body", "lower_body", "dresses"),
            ("seed", "output_format"),
        ),
        "fal-ai/cat-vton": (
            ("human_image_url", "garment_image_url"),
            "cloth_type",
            ("upper", "lower", "overall", "inner", "outer"),
            ("seed",),
        ),
        "fal-ai/idm-vton": (("human_image_url", "garment_image_url"), "description", None, ("seed",)),
        # fal.ai/models/fal-ai/kling/v1-5/kolors-virtual-try-on: the two images and sync_mode, nothing else
        "fal-ai/kling/v1-5/kolors-virtual-try-on": (("human_image_url", "garment_image_url"), None, None, ()),
        "fal-ai/fashn/tryon/v1.6": (
            ("model_image", "garment_image"),
            "category",
            ("tops", "bottoms", "one-pieces", "auto"),
            ("mode", "garment_photo_type", "seed", "output_format"),
        ),
    }
    final_error: tuple[int, str] | None = None
    error_in_status = False
    gateway_errors = 0

    def unauthorized(self):
        return {"detail": "Unauthorized"}

    def too_many(self):
        return {"detail": "Too many requests"}

    def server_error(self, status):
        return {"detail": "Internal server error"}

    def route(self, method, path, body):
        app_root = "/" + "/".join(self.model.split("/")[:2])
        if method == "POST" and path == "/" + self.model:
            if (answer := self.throttled("submit")) is not None:
                return answer
            images, category, vocabulary, optional = self.MODELS[self.model]
            body = body or {}
            missing = [name for name in images if not body.get(name)]
            if category and not body.get(category):
                missing.append(category)
            if missing:
                return 422, {"detail": [{"loc": ["body", missing[0]], "msg": "field required"}]}, {}
            extra = sorted(set(body) - set(images) - {category} - set(optional))
            if extra:
                return 422, {"detail": [{"loc": ["body", extra[0]], "msg": "extra fields not permitted"}]}, {}
            if vocabulary and body[category] not in vocabulary:
                return 422, {"detail": [{"loc": ["body", category], "msg": "unexpected value"}]}, {}
            self.see_inputs({name: body[name] for name in images})
            job = self.new_job(body)
            base = self.url(f"{app_root}/requests/{job.id}")
            return 200, {"request_id": job.id, "status_url": base + "/status", "response_url": base,
                         "cancel_url": base + "/cancel", "queue_position": 0}, {}  # fmt: skip
        if path.startswith("/v1/models/requests/") and method == "DELETE":
            job = self.jobs.get(path.split("/")[4])
            if job is None:
                return 404, {"detail": "Request not found"}, {}
            job.deleted = True
            return (
                200,
                {"cdn_delete_results": [{"link": self.url(f"/files/{job.id}.jpg"), "exception": None}]},
                {},
            )
        if path.startswith(app_root + "/requests/"):
            parts = path[len(app_root) + len("/requests/") :].split("/")
            job = self.jobs.get(parts[0])
            if job is None:
                return 404, {"detail": "Request not found"}, {}
            if method == "GET" and parts[1:] == ["status"]:
                if (answer := self.throttled("status")) is not None:
                    return answer
                phase = self.phase(job)
                if phase in ("queued", "running"):
                    status = {"queued": "IN_QUEUE", "running": "IN_PROGRESS"}[phase]
                    return (
                        202,
                        {"status": status, "queue_position": 0, "response_url": self.url(path[:-7])},
                        {},
                    )
                answer = {
                    "status": "COMPLETED",
                    "metrics": {"inference_time": 1.25},
                    "response_url": self.url(path[:-7]),
                }
                if self.final_error and self.error_in_status:
                    # fal docs, "Request Error Types": a failed request names its `error_type` (the status
                    # of a failed request carries the `error` beside it, as tryons/engines/fal.py reads it)
                    answer.update(error="Request timed out", error_type=self.final_error[1])
                return 200, answer, {}
            if method == "GET" and parts[1:] == []:
                phase = self.phase(job, peek=True)
                if self.gateway_errors:
                    # fal_client/client.py _is_ingress_error: 502/503/504, no x-fal-request-id, "nginx" in it
                    self.gateway_errors -= 1
                    page = b"<html><body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
                    return 502, page, {"Content-Type": "text/html"}
                request_id = {"X-Fal-Request-Id": job.id}  # fal's own server names the request it answers for
                if self.final_error and phase in ("done", "failed"):
                    # fal docs, "Request Error Types": {"detail", "error_type"} and X-Fal-Error-Type, with the
                    # type's status (request_timeout 504, runner_disconnected 503), after fal's 10 retries
                    status, error_type = self.final_error
                    return (
                        status,
                        {"detail": "Request failed", "error_type": error_type},
                        {"X-Fal-Error-Type": error_type, **request_id},
                    )
                if phase == "failed":
                    return 422, {"detail": [{"msg": "Could not detect a person in the image"}]}, request_id
                if phase != "done":
                    return 400, {"detail": "Request is still in progress"}, request_id
                return (
                    200,
                    {"image": {"url": self.url(f"/files/{job.id}.jpg"), "content_type": "image/jpeg"}},
                    request_id,
                )
            if method == "PUT" and parts[1:] == ["cancel"]:
                job.cancelled = True
                return 202, {"status": "CANCELLATION_REQUESTED"}, {}
        if method == "GET" and path.startswith("/files/"):
            job = self.jobs.get(path.split("/")[2].split(".")[0])
            if job is None or job.deleted:
                return 404, {"detail": "Not found"}, {}
            return 200, self.result, {}
        return 404, {"detail": "Not found"}, {}


class FakeReplicate(FakeProvider):
    """api.replicate.com/v1 predictions: POST /v1/predictions (version) or /v1/models/{o}/{n}/predictions
    (`official_models` only); GET urls.get; POST urls.cancel. Errors are problem details {"title", "detail",
    "status"}."""

    valid_categories = ("upper_body", "lower_body", "dresses")
    official_models: tuple[str, ...] = ()

    def unauthorized(self):
        return {
            "title": "Unauthenticated",
            "detail": "You did not pass a valid authentication token",
            "status": 401,
        }

    def too_many(self):
        # replicate.com/docs, "Rate limits": this body, when to come back said only in its words
        return {"detail": "Request was throttled. Your rate limit resets in ~1s."}

    def throttled(self, operation: str):
        answer = super().throttled(operation)
        if answer is not None and answer[0] == 429:
            return 429, self.too_many(), {}  # and no Retry-After header
        return answer

    def server_error(self, status):
        return {"title": "Internal Server Error", "detail": "Something went wrong", "status": status}

    def _prediction(self, job: Job, phase: str) -> dict:
        status = {"queued": "starting", "running": "processing", "done": "succeeded", "failed": "failed",
                  "cancelled": "canceled"}[phase]  # fmt: skip
        base = self.url(f"/v1/predictions/{job.id}")
        return {
            "id": job.id,
            "status": status,
            "input": job.body.get("input"),
            "output": self.url(f"/files/{job.id}.jpg") if phase == "done" else None,
            "error": "CUDA out of memory" if phase == "failed" else None,
            "metrics": {"predict_time": 1.5} if phase == "done" else {},
            "urls": {"get": base, "cancel": base + "/cancel"},
        }

    def route(self, method, path, body):
        if method == "POST" and (path == "/v1/predictions" or path.endswith("/predictions")):
            if (answer := self.throttled("create")) is not None:
                return answer
            model = path.removeprefix("/v1/models/").removesuffix("/predictions")
            if path.startswith("/v1/models/") and model not in self.official_models:
                # replicate.com/docs: owner/name runs official models only (replicate-javascript#347: 404)
                return 404, {"detail": "The requested resource could not be found.", "status": 404}, {}
            inputs = (body or {}).get("input") or {}
            if path == "/v1/predictions" and not (body or {}).get("version"):
                return 422, {"title": "Invalid version", "detail": "version is required", "status": 422}, {}
            if not inputs.get("human_img") or inputs.get("category") not in self.valid_categories:
                return 422, {"title": "Input validation failed", "detail": "category", "status": 422}, {}
            self.see_inputs({k: inputs.get(k) for k in ("human_img", "garm_img")})
            job = self.new_job(body)
            return 201, self._prediction(job, "queued"), {}
        if path.startswith("/v1/predictions/"):
            parts = path.split("/")[3:]
            job = self.jobs.get(parts[0])
            if job is None:
                return 404, {"title": "Not found", "detail": "Prediction not found", "status": 404}, {}
            if method == "GET" and len(parts) == 1:
                if (answer := self.throttled("get")) is not None:
                    return answer
                return 200, self._prediction(job, self.phase(job)), {}
            if method == "POST" and parts[1:] == ["cancel"]:
                job.cancelled = True
                return 200, self._prediction(job, "cancelled"), {}
        if method == "GET" and path.startswith("/files/"):
            return 200, self.result, {}
        return 404, {"title": "Not found", "detail": "Not found", "status": 404}, {}


FAKES = {"fashn": FakeFashn, "fal": FakeFal, "replicate": FakeReplicate}


def engine_environment(engine: str, fake: FakeProvider) -> dict[str, str]:
    """The environment that points `engine` at `fake` (tests, bench/ and worker processes alike)."""
    return {
        "fashn": {"FASHN_API_KEY": fake.key, "FASHN_API_URL": fake.url("/v1")},
        "fal": {
            "FAL_KEY": fake.key,
            "FAL_QUEUE_URL": fake.url(""),
            "FAL_API_URL": fake.url("/v1"),
            "FAL_MODEL": getattr(fake, "model", ""),  # the model whose inputs the fake checks
        },
        "replicate": {
            "REPLICATE_API_TOKEN": fake.key,
            "REPLICATE_API_URL": fake.url("/v1"),
            "REPLICATE_MODEL": "cuuupid/idm-vton:"
            "0513734a452173b8173e907e3a59d19a36266e55b48528559432bd21c7d7e985",
        },
    }[engine]
