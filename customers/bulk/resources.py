"""What a bulk job imports or exports: customers (declared here) or another app's objects, registered when
that app starts (the garment catalogue, from TryonsConfig.ready, since tryons sits above customers).

Jobs, caps, formats, queue, sweeper and routes are shared; a resource says which columns its files hold,
how one row is checked and a batch of rows applied, which rows an export writes, and which event ends an
import."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from customers import services
from customers.bulk import events
from customers.bulk.formats import EXPORT_COLUMNS, FIELDS
from customers.models import Customer
from customers.selectors import with_latest_photo_key
from customers.serializers import CustomerUpsertSerializer

CUSTOMERS = "customers"


@dataclass(frozen=True)
class BulkResource:
    name: str  # the jobs' `resource`, and the path they are under (/v1/<name>/imports)
    key: str  # the column every import file names: what a row is upserted by
    fields: tuple[str, ...]  # the columns an import reads; others are reported as ignored
    export_columns: tuple[str, ...]
    # One row's values (metadata already decoded) -> (the change to apply, or None; {field: problem}).
    row_validate: Callable[[dict], tuple[object | None, dict[str, str]]]
    # (organization id, changes) -> each change's outcome: created, updated or unchanged. In the batch's
    # transaction.
    upsert: Callable[[str, list], list[str]]
    # (organization id, {lookup: value} of the export's filters) -> (row count, rows keyed by export_columns).
    export_rows: Callable[[str, dict], tuple[int, Iterator[dict]]]
    imported_event: object  # the event type an import's end emits (api.events)


_RESOURCES: dict[str, BulkResource] = {}


def bulk_resource_register(resource: BulkResource) -> None:
    _RESOURCES[resource.name] = resource


def bulk_resource(name: str) -> BulkResource:
    return _RESOURCES[name]


def _customer_row(values: dict) -> tuple[services.CustomerChanges | None, dict[str, str]]:
    serializer = CustomerUpsertSerializer(data=values)
    if not serializer.is_valid():
        return None, serializer_problems(serializer.errors)
    validated = dict(serializer.validated_data)
    return services.CustomerChanges(validated.pop("externalId"), validated), {}


def serializer_problems(errors: dict) -> dict[str, str]:
    """A serializer's errors as a row's problems: the first message per field."""
    return {
        name: str(messages[0] if isinstance(messages, list) else messages)
        for name, messages in errors.items()
    }


def _customers_upsert(organization_id: str, changes: list) -> list[str]:
    return [
        outcome for _, outcome in services.customers_upsert(organization_id=organization_id, changes=changes)
    ]


def _customer_rows(organization_id: str, lookups: dict) -> tuple[int, Iterator[dict]]:
    customers = with_latest_photo_key(Customer.objects.filter(organization_id=organization_id, **lookups))
    customers = customers.order_by("created_at", "id")
    fields = ("external_id", "email", "name", "metadata", "latest_photo_key", "created_at", "updated_at")

    def rows():
        for values in customers.values_list(*fields).iterator(chunk_size=2000):
            external_id, email, name, metadata, photo_key, created_at, updated_at = values
            yield {
                "externalId": external_id,
                "email": email or None,
                "name": name,
                "metadata": metadata,
                "latestPhotoS3Key": photo_key,
                "createdAt": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updatedAt": updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }

    return customers.count(), rows()


bulk_resource_register(
    BulkResource(
        name=CUSTOMERS,
        key="externalId",
        fields=FIELDS,
        export_columns=EXPORT_COLUMNS,
        row_validate=_customer_row,
        upsert=_customers_upsert,
        export_rows=_customer_rows,
        imported_event=events.CUSTOMERS_IMPORTED,
    )
)
