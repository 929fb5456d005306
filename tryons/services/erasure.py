"""Erasing a customer's try-on results and photo references (billing history stays)."""

from django.db import transaction

from tryons.models import CartTryOnSession, Look, TryOn
from tryons.services.settlement import session_finish, session_progress, tryon_fail

PHOTO_ERASED = "photo_unavailable"


def customer_results_erase(*, customer_id: str) -> list[str]:
    """Forget the results and photo references of a customer's try-ons; return the storage keys to delete.

    Sessions, items and their credits stay (billing history). An item rendering now fails at once
    (`photo_unavailable`) and is refunded, and a session left with nothing to render settles with its end
    event, in this transaction: the render still running finds the item ended and drops its result
    (`tryon_complete`), instead of the item staying `processing`, with no run to finish it, until the
    stuck-work sweep. Items still queued fail the same way when their run reaches them, without rendering.

    LOCK ORDER (see cart_session_cancel): the customer's sessions, then the items, then the organization.
    """
    with transaction.atomic():
        session_ids = list(
            CartTryOnSession.objects.select_for_update()
            .filter(customer_id=customer_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        tryons = TryOn.objects.select_for_update().filter(customer_id=customer_id)
        keys = [key for key in tryons.values_list("result_key", flat=True) if key]
        tryons.update(result_key="", photo_key="", reuse_key="")  # never handed to a later cart either
        CartTryOnSession.objects.filter(pk__in=session_ids).update(photo_key="")
        Look.objects.filter(session_id__in=session_ids).update(result_key="")  # a step's image, erased above
        rendering = list(TryOn.objects.filter(customer_id=customer_id, status=TryOn.Status.PROCESSING))
        for tryon in rendering:
            tryon_fail(tryon=tryon, code=PHOTO_ERASED, message="The customer was erased during the render.")
        for session_id in sorted({tryon.session_id for tryon in rendering if tryon.session_id}):
            session_progress(session_id=session_id)
            session_finish(session_id=session_id)
    return keys
