"""Reads other apps rely on; kept here so their queries stay tenant-scoped in one place."""

from customers.models import Photo


def photo_for_key(*, organization_id: str, storage_key: str) -> Photo | None:
    """The organization's photo stored at `storage_key`, or None (another organization's key is None too)."""
    return (
        Photo.objects.select_related("customer")
        .filter(organization_id=organization_id, storage_key=storage_key)
        .first()
    )
