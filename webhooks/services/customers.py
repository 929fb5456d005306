"""Events about customers, which customers announces by signal (it cannot import webhooks)."""

from webhooks.models import CUSTOMERS_IMPORTED
from webhooks.services.outbox import webhook_event_record


def customers_imported_receive(*, customer_import, payload: dict, **kwargs) -> None:
    """Record `customers.imported` inside the transaction that ends the import job (sent there)."""
    webhook_event_record(
        organization_id=customer_import.organization_id, event=CUSTOMERS_IMPORTED, data=payload
    )
