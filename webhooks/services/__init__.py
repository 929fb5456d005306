"""Webhooks: endpoints, the event outbox, and delivery with retries, one concept per module.

- `endpoints`: create, change, enable, delete, rotate the secret.
- `outbox`: record an event (whatever api.events emits) with its deliveries inside the caller's
  transaction, wake endpoints after commit, the sweeper for what a lost wake-up left behind, and pruning.
- `wakeups`: queue an endpoint's sending task, at most one at a time while one is waiting.
- `leasing`: worker slots per endpoint, and claiming due deliveries under a lease.
- `sending`: one signed POST, how its answer is judged, retry timing, and the attempt log.
- `delivery`: a woken task sending an endpoint's due deliveries in chunks and moving each one on.
- `manual`: sends the partner asks for (test event, redelivery, recovery).
- `disabled_notice`: an endpoint disabled after its failures, announced by event and by email.

Views, tasks, the admin and other apps import the service names from here.
"""

from webhooks.services.delivery import FAILURES_BEFORE_DISABLE, MAX_RETRIES, webhook_deliveries_send_due
from webhooks.services.disabled_notice import DisabledNoticeFailed, webhook_disabled_email_send
from webhooks.services.endpoints import (
    webhook_create,
    webhook_delete,
    webhook_enable,
    webhook_rotate_secret,
    webhook_update,
)
from webhooks.services.manual import webhook_delivery_redeliver, webhook_recover, webhook_test_send
from webhooks.services.outbox import (
    webhook_deliveries_dispatch_due,
    webhook_event_receive,
    webhook_event_record,
    webhook_payloads_prune,
)
from webhooks.services.sending import AttemptOutcome, retry_delay
from webhooks.services.wakeups import DELIVER_ENDPOINT_TASK, webhook_endpoints_wake

__all__ = [
    "DELIVER_ENDPOINT_TASK",
    "FAILURES_BEFORE_DISABLE",
    "MAX_RETRIES",
    "AttemptOutcome",
    "DisabledNoticeFailed",
    "retry_delay",
    "webhook_create",
    "webhook_delete",
    "webhook_deliveries_dispatch_due",
    "webhook_deliveries_send_due",
    "webhook_delivery_redeliver",
    "webhook_disabled_email_send",
    "webhook_enable",
    "webhook_endpoints_wake",
    "webhook_event_receive",
    "webhook_event_record",
    "webhook_payloads_prune",
    "webhook_recover",
    "webhook_rotate_secret",
    "webhook_test_send",
    "webhook_update",
]
