"""The event customers sends (api.events): an import job ended, emitted in the transaction that ends it.

Declared beside the bulk jobs that emit it; customers/events.py hands it to the catalogue's discovery."""

from api.events import event_type_declare
from customers.bulk.representation import import_representation
from customers.bulk.serializers import CustomerImportSerializer
from customers.models import CustomerImport


def _imported_data(*, customer_import: CustomerImport) -> dict:
    return import_representation(customer_import)


CUSTOMERS_IMPORTED = event_type_declare(
    name="customers.imported",
    owner="customers",
    description="A customer import job finished (completed or failed), as GET of the import shows it.",
    data=CustomerImportSerializer,
    build=_imported_data,
    example={
        "id": "imp_abc123",
        "status": "completed",
        "format": "csv",
        "fileName": "customers.csv",
        "sourceUrl": None,
        "progress": 100,
        "counts": {"total": 2, "processed": 2, "created": 1, "updated": 1, "unchanged": 0, "failed": 0},
        "ignoredColumns": [],
        "error": None,
        "createdAt": "2025-12-11T10:00:00Z",
        "startedAt": "2025-12-11T10:00:01Z",
        "completedAt": "2025-12-11T10:00:03Z",
    },
)
