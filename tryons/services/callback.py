"""Results that arrive later, by the asynchronous renderer's callback."""

import logging

from django.utils import timezone

from tryons.images import image_content_type
from tryons.models import TryOn
from tryons.renderers.base import PermanentRenderError, RenderResult
from tryons.services.garments import garment_image_check
from tryons.services.settlement import settlement_for, tryon_complete, tryon_fail

logger = logging.getLogger(__name__)


def _garment_copy_discard(tryon: TryOn) -> None:
    """The renderer is done with the garment copy its event pointed to; a failure only leaves it behind."""
    from tryons.renderers.eventbridge import garment_copy_delete

    try:
        garment_copy_delete(organization_id=tryon.organization_id, tryon_id=tryon.id)
    except Exception:  # storage backends fail with many types; the result is already recorded
        logger.warning("try-on %s: could not delete the garment copy", tryon.id, exc_info=True)


def tryon_render_callback(
    *, tryon_id: str, job_id: str, succeeded: bool, image: bytes | None = None, error: str = ""
) -> bool:
    """Apply a renderer's callback. Returns False when it is stale (another attempt, already finished).

    Only the job id of the current attempt is accepted, and completion uses the same conditional UPDATE as
    the synchronous path, so a duplicated callback completes, refunds and notifies at most once.
    """
    tryon = TryOn.objects.filter(pk=tryon_id, status=TryOn.Status.PROCESSING, render_job_id=job_id).first()
    if tryon is None:
        return False
    if succeeded:
        try:
            garment_image_check(image or b"")
        except PermanentRenderError:
            applied = tryon_fail(
                tryon=tryon, code="render_invalid", message="The renderer sent no usable image."
            )
        else:
            elapsed = (
                int((timezone.now() - tryon.started_at).total_seconds() * 1000) if tryon.started_at else None
            )
            applied = tryon_complete(
                tryon=tryon,
                result=RenderResult(image=image, content_type=image_content_type(image)),
                elapsed_ms=elapsed,
            )
    else:
        applied = tryon_fail(tryon=tryon, code="render_rejected", message=error or "The renderer failed.")
    if applied:
        _garment_copy_discard(tryon)
    settlement_for(tryon).after()
    return applied
