"""The garment catalogue's events (api.events), emitted in the transaction that records a fetch's end (or,
garments.imported, an import job's)."""

from api.events import event_type_declare
from customers.bulk.representation import import_representation
from customers.bulk.serializers import CustomerImportSerializer
from tryons.catalogue.serializers import GarmentSerializer

_EXAMPLE = {
    "id": "garment_abc123",
    "productId": "prod_001",
    "variantId": "var_blue_m",
    "name": "Blue Cotton T-Shirt",
    "imageUrl": "https://shop.com/products/tshirt.jpg",
    "category": "tops",
    "garmentPhotoType": "flat-lay",
    "status": "ready",
    "error": None,
    "width": 1200,
    "height": 1600,
    "metadata": {},
    "fetchedAt": "2025-12-11T10:00:02Z",
    "createdAt": "2025-12-11T10:00:00Z",
    "updatedAt": "2025-12-11T10:00:02Z",
}


def _garment_data(*, garment) -> dict:
    return GarmentSerializer(garment).data


GARMENT_READY = event_type_declare(
    name="garment.ready",
    owner="tryons",
    description="A catalogue garment's image was fetched and checked: carts naming it use our copy.",
    data=GarmentSerializer,
    build=_garment_data,
    example=_EXAMPLE,
)
GARMENT_FAILED = event_type_declare(
    name="garment.failed",
    owner="tryons",
    description="A catalogue garment's image could not be fetched or is not a usable image (error.code says "
    "why); carts naming it fail that item until the garment is refreshed.",
    data=GarmentSerializer,
    build=_garment_data,
    example={
        **_EXAMPLE,
        "status": "failed",
        "error": {"code": "garment_unavailable", "message": "Garment image unavailable: HTTP 404"},
        "width": None,
        "height": None,
        "fetchedAt": None,
    },
)


def _imported_data(*, customer_import) -> dict:
    return import_representation(customer_import)


GARMENTS_IMPORTED = event_type_declare(
    name="garments.imported",
    owner="tryons",
    description="A garment import job finished (completed or failed), as GET of the import shows it; each "
    "garment it created or gave a new image is fetched after it (garment.ready or garment.failed).",
    data=CustomerImportSerializer,
    build=_imported_data,
    example={
        "id": "imp_abc123",
        "status": "completed",
        "format": "csv",
        "fileName": "garments.csv",
        "sourceUrl": None,
        "progress": 100,
        "counts": {"total": 2, "processed": 2, "created": 1, "updated": 0, "unchanged": 1, "failed": 0},
        "ignoredColumns": [],
        "error": None,
        "createdAt": "2025-12-11T10:00:00Z",
        "startedAt": "2025-12-11T10:00:01Z",
        "completedAt": "2025-12-11T10:00:03Z",
    },
)
