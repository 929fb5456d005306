"""`eventbridge`: publish one event per item to `EVENTBRIDGE_BUS_NAME`; the result comes back by callback.

Event (one `put_events` entry per render attempt)
    Source      "garmaxai.tryons"
    DetailType  RENDER_REQUESTED (below), the one name rules on the bus match
    Detail      {"tryonId", "jobId", "organizationId", "category", "quality", "width", "height",
                 "backgroundScene", "personImageUrl", "garmentImageUrl", "callbackUrl", "expiresAt",
                 "garmentPhotoType", "outputFormat", and "seed" when there is one (tryons.controls)}
    `personImageUrl` and `garmentImageUrl` are signed URLs of our stored copies, valid for
    TRYON_EVENT_URL_TTL_SECONDS. The garment is the copy we downloaded through the SSRF guard and decoded
    (JPEG, PNG or WebP), never the partner's URL: the consumer must not fetch partner-supplied URLs from
    inside our network. The copy is deleted when the item's callback settles it. A response with
    FailedEntryCount > 0 is a retryable error, as are throttling and connection failures.

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

from infrastructure.storage import storage_delete, storage_key, storage_save, storage_signed_url
from tryons.images import image_extension
from tryons.renderers.base import RenderAccepted, RenderRequest, RetryableRenderError

SOURCE = "garmaxai.tryons"
RENDER_REQUESTED = "TryOn Render Requested"
TRYON_EVENT_URL_TTL_SECONDS = 6 * 3600
GARMENT_EXTENSIONS = ("jpg", "png", "webp")


def callback_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("tryon-render-callback")


def garment_copy_key(*, organization_id: str, tryon_id: str, extension: str) -> str:
    return storage_key(
        organization_id=organization_id, kind="garments", object_id=tryon_id, extension=extension
    )


def garment_copy_delete(*, organization_id: str, tryon_id: str) -> None:
    """Delete the garment copy an item's event pointed to (whichever format it was stored in)."""
    for extension in GARMENT_EXTENSIONS:
        key = garment_copy_key(organization_id=organization_id, tryon_id=tryon_id, extension=extension)
        storage_delete(key)


def renderer_from_settings() -> "EventBridgeRenderer":
    return EventBridgeRenderer(
        bus_name=settings.EVENTBRIDGE_BUS_NAME,
        region=settings.AWS_REGION,
        endpoint_url=settings.EVENTBRIDGE_ENDPOINT_URL,
    )


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
        garment_key = garment_copy_key(
            organization_id=request.organization_id,
            tryon_id=request.tryon_id,
            extension=image_extension(request.garment_image),
        )
        try:
            storage_save(garment_key, request.garment_image)
        except Exception as exc:  # storage backends (disk, S3) fail with many types; all worth a retry
            raise RetryableRenderError(f"Could not store the garment copy: {type(exc).__name__}") from None
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
            "garmentImageUrl": storage_signed_url(garment_key, ttl=TRYON_EVENT_URL_TTL_SECONDS),
            "callbackUrl": callback_url(),
            "expiresAt": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            **request.controls.fields(),
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
