"""Customers and photos: upsert by externalId, cleaned photo uploads, and erasure that is never lost."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.errors import ResourceNotFound
from api.ids import new_id
from customers.erasure import customer_data_erase
from customers.models import Customer, PendingErasure, Photo
from customers.photos import photo_clean
from infrastructure.storage import storage_delete, storage_save
from organizations.partner_ids import partner_storage_key

logger = logging.getLogger("garmax.customers")

_UNSET = object()
# The request that deletes a customer erases its objects itself; the beat task only picks up what that
# attempt leaves behind, so it waits this long before touching a fresh row.
ERASURE_GRACE = timedelta(minutes=2)
ERASURE_MAX_BACKOFF = timedelta(hours=6)
ERASURE_BATCH = 200


UPSERT_FIELDS = ("email", "name", "metadata")
UPSERT_ATTEMPTS = 5


@dataclass(frozen=True)
class CustomerChanges:
    """One upsert: the customer's externalId and the fields to set (the others keep their values)."""

    external_id: str
    fields: dict


def customer_upsert(
    *,
    organization_id: str,
    external_id: str,
    email=_UNSET,
    name=_UNSET,
    metadata=_UNSET,
) -> tuple[Customer, bool]:
    """Create the organization's customer `external_id` or update the given fields; -> (customer, created).

    Fields left out keep their stored values; `metadata`, when given, replaces the stored object. The
    single-customer case of `customers_upsert`, which holds the rules and the concurrency contract.
    """
    fields = {
        field: value
        for field, value in (("email", email), ("name", name), ("metadata", metadata))
        if value is not _UNSET
    }
    [(customer, outcome)] = customers_upsert(
        organization_id=organization_id, changes=[CustomerChanges(external_id, fields)]
    )
    return customer, outcome == "created"


def customers_upsert(*, organization_id: str, changes: list[CustomerChanges]) -> list[tuple[Customer, str]]:
    """Upsert many customers by externalId in one transaction; -> [(customer, outcome)] in input order.

    outcome is "created", "updated" or "unchanged": a customer whose given fields already hold the given
    values is not written at all (its updatedAt stays), so applying the same changes twice changes
    nothing the second time. An externalId given twice is applied in order, as two calls would be.
    Concurrency: existing rows are locked (select_for_update) before they are compared and written, and
    the (organization, external_id) unique constraint decides between concurrent creators; the loser's
    insert fails inside a savepoint and it tries again, now finding and locking the winner's row, so one
    externalId never yields two rows and exactly one caller sees "created".
    """
    results: list[tuple[Customer, str]] = []
    batch: list[CustomerChanges] = []
    for change in changes:
        if any(pending.external_id == change.external_id for pending in batch):
            results += _upsert_batch(organization_id, batch)
            batch = []
        batch.append(change)
    if batch:
        results += _upsert_batch(organization_id, batch)
    return results


def _upsert_batch(organization_id: str, changes: list[CustomerChanges]) -> list[tuple[Customer, str]]:
    for attempt in range(UPSERT_ATTEMPTS):
        try:
            with transaction.atomic():
                return _upsert_locked(organization_id, changes)
        except IntegrityError:
            # A concurrent creator inserted one of these externalIds after our read; it exists now.
            if attempt == UPSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _upsert_locked(organization_id: str, changes: list[CustomerChanges]) -> list[tuple[Customer, str]]:
    existing = {
        customer.external_id: customer
        for customer in Customer.objects.select_for_update().filter(
            organization_id=organization_id, external_id__in=[c.external_id for c in changes]
        )
    }
    now = timezone.now()
    results, to_create, to_update, touched = [], [], [], set()
    for change in changes:
        customer = existing.get(change.external_id)
        if customer is None:
            customer = Customer(
                organization_id=organization_id, external_id=change.external_id, **change.fields
            )
            to_create.append(customer)
            results.append((customer, "created"))
            continue
        changed = [name for name, value in change.fields.items() if getattr(customer, name) != value]
        for name in changed:
            setattr(customer, name, change.fields[name])
        if changed:
            customer.updated_at = now
            touched.update(changed)
            to_update.append(customer)
        results.append((customer, "updated" if changed else "unchanged"))
    if to_create:
        Customer.objects.bulk_create(to_create)
    if to_update:
        Customer.objects.bulk_update(to_update, [*sorted(touched), "updated_at"])
    return results


def customer_get(*, organization_id: str, external_id: str) -> Customer:
    """The organization's customer; another organization's externalId is indistinguishable from none."""
    customer = Customer.objects.filter(organization_id=organization_id, external_id=external_id).first()
    if customer is None:
        raise ResourceNotFound(f"Customer {external_id} not found.", details={"externalId": external_id})
    return customer


def customer_delete(*, organization_id: str, external_id: str) -> list[str]:
    """Delete the customer, its photos and try-on results: rows now, stored objects right after commit.

    Contract: in one transaction the customer row is locked (so a concurrent photo upload either lands
    before and is erased too, or finds no customer), every object key is recorded as a PendingErasure,
    and the rows are deleted. After commit each object is deleted from storage; a key whose delete fails
    stays recorded and `customers.retry_pending_erasures` retries it with backoff until storage confirms.
    Returns the storage keys scheduled for erasure.
    """
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update()
            .filter(organization_id=organization_id, external_id=external_id)
            .first()
        )
        if customer is None:
            raise ResourceNotFound(f"Customer {external_id} not found.", details={"externalId": external_id})
        keys = list(customer.photos.values_list("storage_key", flat=True))
        keys += customer_data_erase(customer_id=customer.id)  # try-on results, by the apps that hold them
        keys = list(dict.fromkeys(keys))
        erasures = PendingErasure.objects.bulk_create(
            PendingErasure(
                storage_key=key,
                organization_id=organization_id,
                reason=f"customer {customer.id} deleted",
                next_attempt_at=timezone.now() + ERASURE_GRACE,
            )
            for key in keys
        )
        customer.delete()
        erasure_ids = [erasure.id for erasure in erasures]  # PostgreSQL and SQLite return bulk ids
        # robust: the rows are already gone, so a failed attempt must not turn the delete into a 500;
        # the recorded erasures are retried by the beat task.
        transaction.on_commit(lambda: pending_erasures_attempt(erasure_ids=erasure_ids), robust=True)
    return keys


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2**attempts), ERASURE_MAX_BACKOFF)


def _erase_one(erasure: PendingErasure) -> bool:
    try:
        storage_delete(erasure.storage_key)
    except Exception as exc:  # any storage failure is retried later, never dropped
        logger.warning("Erasing %s failed (%s); will retry", erasure.storage_key, type(exc).__name__)
        PendingErasure.objects.filter(id=erasure.id).update(
            last_error=f"{type(exc).__name__}: {exc}"[:500],
            next_attempt_at=timezone.now() + _backoff(erasure.attempts),
        )
        return False
    PendingErasure.objects.filter(id=erasure.id).delete()
    return True


def pending_erasures_attempt(*, erasure_ids: list[int]) -> int:
    """Try the given erasures once, right after the delete that recorded them; returns how many succeeded.

    Each row is claimed with a conditional UPDATE on its attempt counter, so the beat task running at the
    same moment cannot delete the same object twice at once (a double delete would be harmless, but the
    attempt count and error would be garbled).
    """
    erased = 0
    for erasure in PendingErasure.objects.filter(id__in=erasure_ids):
        claimed = PendingErasure.objects.filter(id=erasure.id, attempts=erasure.attempts).update(
            attempts=F("attempts") + 1
        )
        if claimed != 1:
            continue  # another worker got there first
        erasure.attempts += 1
        erased += _erase_one(erasure)
    return erased


def pending_erasures_retry(*, limit: int = ERASURE_BATCH) -> int:
    """Retry every due erasure (the beat task); returns how many objects were erased.

    Safe to run on several workers at once: each due row is claimed by pushing its next attempt into the
    future with a conditional UPDATE; only the worker whose update matched goes on to delete the object.
    """
    now = timezone.now()
    erased = 0
    due = list(PendingErasure.objects.filter(next_attempt_at__lte=now)[:limit])
    for erasure in due:
        claimed = PendingErasure.objects.filter(
            id=erasure.id, attempts=erasure.attempts, next_attempt_at=erasure.next_attempt_at
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + _backoff(erasure.attempts + 1))
        if claimed != 1:
            continue  # another worker claimed it
        erasure.attempts += 1
        erased += _erase_one(erasure)
    return erased


def photo_storage_key(*, organization_id: str, photo_id: str, extension: str) -> str:
    return partner_storage_key(
        organization_id=organization_id, kind="photos", object_id=photo_id, extension=extension
    )


def photo_upload(*, customer: Customer, upload, metadata: dict | None = None) -> Photo:
    """Decode, clean and store `upload` as the customer's newest photo.

    Raises ValidationError for anything photo_clean rejects, ResourceNotFound if the customer is deleted
    meanwhile. The object is written before the row: if the row cannot be created the object is erased
    (or recorded for erasure), so no photo is left in storage without its row.
    """
    cleaned = photo_clean(upload)
    photo_id = new_id("photo")
    key = photo_storage_key(
        organization_id=customer.organization_id, photo_id=photo_id, extension=cleaned.extension
    )
    storage_save(key, cleaned.content)
    try:
        with transaction.atomic():
            # Serializes with customer_delete: a deleted customer must not gain a photo after its erasure.
            if not Customer.objects.select_for_update().filter(pk=customer.pk).exists():
                raise ResourceNotFound(
                    f"Customer {customer.external_id} not found.",
                    details={"externalId": customer.external_id},
                )
            return Photo.objects.create(
                id=photo_id,
                organization_id=customer.organization_id,
                customer=customer,
                storage_key=key,
                content_type=cleaned.content_type,
                width=cleaned.width,
                height=cleaned.height,
                size_bytes=len(cleaned.content),
                metadata=metadata or {},
            )
    except BaseException:
        erasure = PendingErasure.objects.create(
            storage_key=key,
            organization_id=customer.organization_id,
            reason=f"photo {photo_id} upload failed",
            next_attempt_at=timezone.now() + ERASURE_GRACE,
        )
        pending_erasures_attempt(erasure_ids=[erasure.id])
        raise
