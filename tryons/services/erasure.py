"""Erasing a customer's try-on results and photo references (billing history stays)."""

from django.db import transaction

from tryons.models import CartTryOnSession, TryOn


def customer_results_erase(*, customer_id: str) -> list[str]:
    """Forget the results and photo references of a customer's try-ons; return the storage keys to delete.

    Sessions, items and their credits stay (billing history). Clearing `photo_key` also stops a render that
    is still running from recording a result afterwards (see `_tryon_complete`).
    """
    with transaction.atomic():
        tryons = TryOn.objects.select_for_update().filter(customer_id=customer_id)
        keys = [key for key in tryons.values_list("result_key", flat=True) if key]
        tryons.update(result_key="", photo_key="")
        CartTryOnSession.objects.filter(customer_id=customer_id).update(photo_key="")
    return keys
