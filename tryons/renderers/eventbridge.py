"""`eventbridge`: publish one event per item to `EVENTBRIDGE_BUS_NAME`; the result comes back by callback.

Event (one `put_events` entry per render attempt)
    Source      "garmaxai.tryons"
    DetailType  RENDER_REQUESTED (below), the one name rules on the bus match
    Detail      {"tryonId", "jobId", "organizationId", "category", "quality", "width", "height",
                 "backgroundScene", "personImageUrl", "garmentImageUrl", "callbackUrl", "expiresAt"}
    `personImageUrl` is a signed URL valid for TRYON_EVENT_URL_TTL_SECONDS; `garmentImageUrl` is the
    partner's URL, already fetched and decoded once by us. A response with FailedEntryCount > 0 is a
    retryable error, as are throttling and connection failures.

Callback (the consumer reports back)
    POST {callbackUrl}              (/api/internal/tryon-render-callbacks)
    X-Garmax-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by
                        TRYON_CALLBACK_SECRET>; older than 5 minutes is refused
    Content-Type: application/json
    {"tryonId": "...", "jobId": "...", "status": "completed", "contentType": "image/jpeg"|"image/png",
     "image": "<base64>"}
    or {"tryonId": "...", "jobId": "...", "status": "failed", "error": "why"}
    A callback for a job that is no longer current (a retried or finished item) is acknowledged and ignored.
"""

import json
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.urls import reverse

from config.storage import storage_signed_url
from tryons.renderers.base import RenderAccepted, RenderRequest, RetryableRenderError

SOURCE = "garmaxai.tryons"
RENDER_REQUESTED = "TryOn Render Requested"
TRYON_EVENT_URL_TTL_SECONDS = 6 * 3600


def callback_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("tryon-render-callback")


class EventBridgeRenderer:
    name = "eventbridge"

    def __init__(self, *, bus_name: str, region: str, endpoint_url: str | None = None):
        self.bus_name = bus_name
        self.client = boto3.client(
            "events",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}),
        )

    def render(self, request: RenderRequest) -> RenderAccepted:
        width, height = request.size
        expires_at = datetime.now(UTC) + timedelta(seconds=TRYON_EVENT_URL_TTL_SECONDS)
        detail = {
            "tryonId": request.tryon_id,
            "jobId": request.job_id,
            "organizationId": request.organization_id,
            "category": request.category,
            "quality": request.quality,
            "width": width,
            "height": height,
            "backgroundScene": request.background_scene,
            "personImageUrl": storage_signed_url(request.person_photo_key, ttl=TRYON_EVENT_URL_TTL_SECONDS),
            "garmentImageUrl": request.garment_url,
            "callbackUrl": callback_url(),
            "expiresAt": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        entry = {
            "Source": SOURCE,
            "DetailType": RENDER_REQUESTED,
            "Detail": json.dumps(detail, separators=(",", ":")),
            "EventBusName": self.bus_name,
        }
        try:
            response = self.client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            raise RetryableRenderError(f"EventBridge put_events failed: {type(exc).__name__}") from None
        if response.get("FailedEntryCount", 0):
            failed = (response.get("Entries") or [{}])[0]
            raise RetryableRenderError(
                f"EventBridge rejected the event: {failed.get('ErrorCode', 'unknown error')}"
            )
        return RenderAccepted(job_id=request.job_id)
