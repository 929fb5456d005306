"""How a try-on's fields read on the wire, for the REST serializers and the webhook payloads alike.

A partner sees the same try-on through GET /tryons, GET /cart-tryons and a webhook event: every field both
carry is built here or by the same rule (credits as organizations.models.credits_number), and
tests/tryons/test_payload_shapes.py checks that they agree.
"""

from infrastructure.storage import storage_signed_url
from organizations.models import credits_number
from tryons.models import TryOn
from tryons.renderers.registry import RENDERERS
from tryons.scenes import ORIGINAL, scene_requested

__all__ = ["credits_number", "result_url", "scene_applied", "tryon_error"]


def result_url(tryon: TryOn) -> str | None:
    """Expiring signed URL of the rendered image, or None while there is none."""
    return storage_signed_url(tryon.result_key) if tryon.result_key else None


def scene_applied(tryon: TryOn) -> str | None:
    """The background scene the result shows: the one asked for, if its renderer places scenes, else the
    photo's own (`original`); None until there is a result."""
    if tryon.status != TryOn.Status.COMPLETED:
        return None
    kind = RENDERERS.get(tryon.renderer)
    return scene_requested(tryon.background_scene) if kind is not None and kind.places_scenes else ORIGINAL


def tryon_error(tryon: TryOn) -> dict | None:
    """Why the try-on failed: {"code", "message"}, or None."""
    if not tryon.error_code:
        return None
    return {"code": tryon.error_code, "message": tryon.error}
