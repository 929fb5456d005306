"""`http`: POST each item to a self-hosted try-on inference service and take the image it answers with.

The service's URL is operator configuration (`TRYON_HTTP_RENDERER_URL`), not partner input, so it may sit on
a private network; redirects are never followed. TRYON_HTTP_RENDERER_TIMEOUT_SECONDS is the total wall-clock
budget of one call (upload, rendering, result download).

Request contract
    POST {TRYON_HTTP_RENDERER_URL}
    Content-Type: multipart/form-data
    <auth header>                      from TRYON_HTTP_RENDERER_AUTH_HEADER: "Name: value" sends that
                                       header; a bare value is sent as "Authorization: <value>".
    X-Tryon-Id: tryon_…                the same id on every retry of one item, usable as an idempotency key
    form fields:
      person        file, the customer's photo (JPEG/PNG/WebP as uploaded, EXIF already stripped)
      garment       file, the garment image as downloaded from the partner's `imageUrl`
      category      tops | bottoms | dresses | outerwear | one-pieces
      quality       a render quality's name (tryons.qualities)
      width, height the output size in pixels for that quality (its `size` there)
      backgroundScene  the partner's hint, possibly empty
      tryonId       as in the header

Response contract
    200 with Content-Type image/jpeg or image/png   the rendered image (body up to 25 MB)
    4xx other than 408/429                          permanent: the item fails and is refunded; a JSON body
                                                    {"error": "..."} is kept as the item's error message
    408, 429, 5xx, timeouts, connection errors      retryable: the item is retried with backoff
    anything else (e.g. 200 with a non-image body)  permanent
"""

import requests
from django.conf import settings

from infrastructure import outbound
from tryons.renderers.base import (
    PermanentRenderError,
    RenderRequest,
    RenderResult,
    RetryableRenderError,
)

MAX_RESULT_BYTES = 25 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png")


def _auth_headers(auth_header: str) -> dict:
    if not auth_header:
        return {}
    name, sep, value = auth_header.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return {name.strip(): value.strip()}
    return {"Authorization": auth_header.strip()}


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("error") if isinstance(body, dict) else None
    return f"Renderer answered HTTP {response.status_code}" + (f": {str(message)[:200]}" if message else ".")


def renderer_from_settings() -> "HttpRenderer":
    return HttpRenderer(
        url=settings.TRYON_HTTP_RENDERER_URL,
        auth_header=settings.TRYON_HTTP_RENDERER_AUTH_HEADER,
        timeout=settings.TRYON_HTTP_RENDERER_TIMEOUT_SECONDS,
    )


class HttpRenderer:
    name = "http"

    def __init__(self, *, url: str, auth_header: str = "", timeout: float = 120):
        self.url = url
        self.headers = _auth_headers(auth_header)
        self.timeout = timeout

    def render(self, request: RenderRequest) -> RenderResult:
        """One call to the service; `timeout` bounds all of it (upload, wait, result download) in wall-clock
        time, so a service that stalls or drips its answer costs one retryable attempt, not a worker."""
        session = outbound.deadline_session()
        try:
            with outbound.Deadline(self.timeout) as deadline:
                result = self._call(session, request, deadline)
                # A connection cut by the deadline can look like a complete answer: never trust it.
                if deadline.expired:
                    raise RetryableRenderError(f"Renderer: {deadline.message}")
                return result
        except outbound.OutboundFailed as exc:  # the budget was spent before the call started
            raise RetryableRenderError(f"Renderer: {exc}") from None
        finally:
            session.close()

    def _call(self, session, request: RenderRequest, deadline: outbound.Deadline) -> RenderResult:
        width, height = request.size
        _, remaining = deadline.timeouts()
        try:
            response = session.post(
                self.url,
                headers={**self.headers, "X-Tryon-Id": request.tryon_id},
                files={
                    "person": ("person", request.person_image, "application/octet-stream"),
                    "garment": ("garment", request.garment_image, "application/octet-stream"),
                },
                data={
                    "category": request.category,
                    "quality": request.quality,
                    "width": str(width),
                    "height": str(height),
                    "backgroundScene": request.background_scene,
                    "tryonId": request.tryon_id,
                    **request.controls.fields(),
                },
                timeout=(min(10.0, remaining), remaining),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            if deadline.expired:
                raise RetryableRenderError(f"Renderer: {deadline.message}") from None
            raise RetryableRenderError(f"Renderer unreachable: {type(exc).__name__}") from None
        with response:
            if deadline.expired:  # cut off mid-headers: what arrived is not the answer
                raise RetryableRenderError(f"Renderer: {deadline.message}")
            status = response.status_code
            if status in (408, 429) or status >= 500:
                raise RetryableRenderError(_error_message(response))
            if status != 200:
                raise PermanentRenderError(_error_message(response))
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in IMAGE_TYPES:
                raise PermanentRenderError(
                    f"Renderer answered {content_type or 'no content type'}, not an image."
                )
            body = bytearray()
            try:
                for chunk in response.iter_content(256 * 1024):
                    body.extend(chunk)
                    if len(body) > MAX_RESULT_BYTES:
                        raise PermanentRenderError("Renderer result is larger than 25 MB.")
            except requests.RequestException as exc:
                if deadline.expired:
                    raise RetryableRenderError(f"Renderer: {deadline.message}") from None
                raise RetryableRenderError(f"Renderer response interrupted: {type(exc).__name__}") from None
        return RenderResult(image=bytes(body), content_type=content_type)
