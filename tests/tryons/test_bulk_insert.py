"""infrastructure.bulk_insert.rows_insert, on the rows it was written for: a cart's items.

It must write exactly what `bulk_create` writes for the same instances (on PostgreSQL it is its own
statement; elsewhere it is `bulk_create`), refuse rows that differ where it sends one value, and leave
nothing behind when the insert fails.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from api.ids import new_id
from infrastructure.bulk_insert import rows_insert
from tryons.inputs import GarmentInput
from tryons.models import TryOn
from tryons.services.creation import CART_ITEM_VARYING_FIELDS, _tryon_row

GARMENTS = [
    GarmentInput(product_id="sku-1", image_url="https://shop.example.com/a.png", category="tops"),
    GarmentInput(
        product_id="sku-2 ünïcode ✓",
        image_url="https://shop.example.com/" + "b" * 1900 + ".png",
        category="bottoms",
        variant_id="v-2",
        name='Trousers, "wide" {leg}',
        quantity=3,
        price=Decimal("59.90"),
        currency="EUR",
    ),
    GarmentInput(
        product_id="sku-3", image_url="https://shop.example.com/c.png", category="shoes", name="NULL"
    ),
]
IGNORED = {"id", "created_at", "heartbeat_at"}


@pytest.fixture
def photo(organization, photo_of):
    return photo_of(organization)


def _rows(organization, photo, **overrides):
    rows = [
        _tryon_row(
            organization_id=organization.id,
            photo=photo,
            photo_key=photo.storage_key,
            garment=garment,
            quality="hd",
            background_scene="studio",
            credits=Decimal("1.50"),
            position=position,
            metadata={"channel": "app", "nested": {"k": [1, 2]}},
            **overrides,
        )
        for position, garment in enumerate(GARMENTS)
    ]
    for row in rows:
        row.id = new_id("tryon")
    return rows


def _stored(rows):
    found = {row["id"]: row for row in TryOn.objects.filter(pk__in=[row.pk for row in rows]).values()}
    return [{k: v for k, v in found[row.pk].items() if k not in IGNORED} for row in rows]


@pytest.mark.django_db
def test_writes_what_bulk_create_writes(organization, photo):
    ours, theirs = _rows(organization, photo), _rows(organization, photo)

    rows_insert(ours, varying=CART_ITEM_VARYING_FIELDS)
    TryOn.objects.bulk_create(theirs)

    assert _stored(ours) == _stored(theirs)
    stored = TryOn.objects.get(pk=ours[1].pk)
    assert (stored.price, stored.quantity, stored.name) == (Decimal("59.90"), 3, 'Trousers, "wide" {leg}')
    assert stored.metadata == {"channel": "app", "nested": {"k": [1, 2]}}
    assert stored.reruns == 0 and stored.status == "queued"
    assert TryOn.objects.get(pk=ours[2].pk).created_at == ours[2].created_at
    if connection.vendor == "postgresql":  # one timestamp for the whole statement
        assert len({row.created_at for row in ours}) == 1
    assert not any(row._state.adding for row in ours)


@pytest.mark.django_db
def test_refuses_rows_that_differ_in_a_column_sent_once(organization, photo):
    rows = _rows(organization, photo)
    rows[2].render_quality = "sd"

    with pytest.raises(ValueError, match="render_quality differs"):
        rows_insert(rows, varying=CART_ITEM_VARYING_FIELDS)

    assert not TryOn.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failed_insert_leaves_no_row(organization, photo):
    rows = _rows(organization, photo)
    rows[1].id = rows[0].id  # two rows, one primary key

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(rows, varying=CART_ITEM_VARYING_FIELDS)

    assert not TryOn.objects.exists()
