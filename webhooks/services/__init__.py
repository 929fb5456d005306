"""Webhooks: endpoints, the event outbox, and delivery with retries, one concept per module.

- `endpoints`: create, change, enable, delete, rotate the secret.
- `outbox`: record an event with its deliveries inside the caller's transaction, wake endpoints after
  commit, the sweeper for what a lost wake-up left behind, and pruning.
- `leasing`: worker slots per endpoint, and claiming due deliveries under a lease.
- `sending`: one signed POST, how its answer is judged, retry timing, and the attempt log.
- `delivery`: a woken task sending an endpoint's due deliveries in chunks and moving each one on.
- `manual`: sends the partner asks for (test event, redelivery, recovery).
- `customers`, `credits`: events other apps announce by signal (`customers.imported`, `credits.low`,
  `credits.added`).

Views, tasks, the admin and other apps import the service names from here.
"""

from webhooks.services.credits import credits_added_receive, credits_low_receive
from webhooks.services.customers import customers_imported_receive
from webhooks.services.delivery import FAILURES_BEFORE_DISABLE, MAX_RETRIES, webhook_deliveries_send_due
from webhooks.services.endpoints import (
    webhook_create,
    webhook_delete,
    webhook_enable,
    webhook_rotate_secret,
    webhook_update,
)
from webhooks.services.leasing import _slot_key
from webhooks.services.manual import webhook_delivery_redeliver, webhook_recover, webhook_test_send
from webhooks.services.outbox import (
    webhook_deliveries_dispatch_due,
    webhook_endpoints_wake,
    webhook_event_record,
    webhook_payloads_prune,
)
from webhooks.services.sending import AttemptOutcome, retry_delay

__all__ = [
    "FAILURES_BEFORE_DISABLE",
    "MAX_RETRIES",
    "AttemptOutcome",
    "_slot_key",
    "credits_added_receive",
    "credits_low_receive",
    "customers_imported_receive",
    "retry_delay",
    "webhook_create",
    "webhook_delete",
    "webhook_deliveries_dispatch_due",
    "webhook_deliveries_send_due",
    "webhook_delivery_redeliver",
    "webhook_enable",
    "webhook_endpoints_wake",
    "webhook_event_record",
    "webhook_payloads_prune",
    "webhook_recover",
    "webhook_rotate_secret",
    "webhook_test_send",
    "webhook_update",
]
