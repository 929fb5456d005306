"""The credit events: organizations sends a signal inside the transaction of the balance change, and this
records the matching event in the outbox, so the event commits (or rolls back) with the change."""

from organizations.models import CreditLedgerEntry, credits_number
from organizations.partner_ids import partner_organization_id
from webhooks.models import CREDITS_ADDED, CREDITS_LOW
from webhooks.services.outbox import webhook_event_record


def credits_low_receive(*, entry: CreditLedgerEntry, threshold, **kwargs) -> None:
    webhook_event_record(
        organization_id=entry.organization_id,
        event=CREDITS_LOW,
        data={
            "organizationId": partner_organization_id(entry.organization_id),
            "balance": credits_number(entry.balance_after),
            "threshold": credits_number(threshold),
            # The charge that crossed the threshold (e.g. a cart session id).
            "reference": entry.reference,
        },
    )


def credits_added_receive(*, entry: CreditLedgerEntry, **kwargs) -> None:
    webhook_event_record(
        organization_id=entry.organization_id,
        event=CREDITS_ADDED,
        data={
            "organizationId": partner_organization_id(entry.organization_id),
            "amount": credits_number(entry.amount),
            "balance": credits_number(entry.balance_after),
            "description": entry.description,
        },
    )
