"""The catalogue as a bulk resource (customers.bulk.resources): garment files imported and exported by the
same jobs as customers, with the same caps and per-row errors. A row is upserted as `POST /v1/garments`
upserts (by productId + variantId); a new garment or a new imageUrl is fetched by the worker after the
row's batch commits, as for a single upsert."""

from customers.bulk.resources import BulkResource, bulk_resource_register, serializer_problems
from tryons.catalogue import events
from tryons.catalogue.models import Garment
from tryons.catalogue.serializers import GarmentUpsertSerializer
from tryons.catalogue.services import garment_upsert

GARMENTS = "garments"
FIELDS = ("productId", "variantId", "name", "imageUrl", "category", "garmentPhotoType", "metadata")
EXPORT_COLUMNS = ("id", *FIELDS, "status", "createdAt", "updatedAt")


def _row(values: dict) -> tuple[dict | None, dict[str, str]]:
    # A null (an exported garment without variantId or garmentPhotoType) is an empty cell: left out.
    serializer = GarmentUpsertSerializer(
        data={name: value for name, value in values.items() if value is not None}
    )
    if not serializer.is_valid():
        return None, serializer_problems(serializer.errors)
    data = serializer.validated_data
    return {"product_id": data["productId"], "variant_id": data["variantId"], **serializer.to_fields()}, {}


def _upsert(organization_id: str, changes: list[dict]) -> list[str]:
    """Each row as `POST /v1/garments`; a row that changes nothing stored writes nothing (`unchanged`)."""
    stored = {
        (garment.product_id, garment.variant_id): garment
        for garment in Garment.objects.filter(
            organization_id=organization_id, product_id__in={change["product_id"] for change in changes}
        )
    }
    outcomes = []
    for change in changes:
        fields = {name: value for name, value in change.items() if name not in ("product_id", "variant_id")}
        known = stored.get((change["product_id"], change["variant_id"]))
        if known is not None and all(getattr(known, name) == value for name, value in fields.items()):
            outcomes.append("unchanged")
            continue
        garment, created = garment_upsert(organization_id=organization_id, **change)
        stored[(garment.product_id, garment.variant_id)] = garment  # a later row of the same garment
        outcomes.append("created" if created else "updated")
    return outcomes


def _rows(organization_id: str, lookups: dict):
    garments = Garment.objects.filter(organization_id=organization_id, **lookups).order_by("created_at", "id")
    fields = ("id", "product_id", "variant_id", "name", "image_url", "category", "garment_photo_type")
    fields += ("metadata", "status", "created_at", "updated_at")

    def rows():
        for values in garments.values_list(*fields).iterator(chunk_size=2000):
            row = dict(zip(EXPORT_COLUMNS, values, strict=True))
            row["variantId"] = row["variantId"] or None
            row["garmentPhotoType"] = row["garmentPhotoType"] or None
            row["createdAt"] = values[-2].strftime("%Y-%m-%dT%H:%M:%SZ")
            row["updatedAt"] = values[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
            yield row

    return garments.count(), rows()


def catalogue_bulk_register() -> None:
    bulk_resource_register(
        BulkResource(
            name=GARMENTS,
            key="productId",
            fields=FIELDS,
            export_columns=EXPORT_COLUMNS,
            row_validate=_row,
            upsert=_upsert,
            export_rows=_rows,
            imported_event=events.GARMENTS_IMPORTED,
        )
    )
