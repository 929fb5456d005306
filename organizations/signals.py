"""Signals other apps listen to, so organizations never imports the apps that build on it."""

from django.dispatch import Signal

# Sent after the transaction that changed an organization's status commits (never for a rolled-back
# change), with `organization` and `status`. apikeys blocks or unblocks the organization's keys on it.
organization_status_changed = Signal()

# Sent inside the transaction of a top-up (`entry`), so a listener's writes (the webhooks outbox) commit
# or roll back with it.
credits_added = Signal()
# Sent inside the transaction of the charge (`entry`, `threshold`) that took the balance from above the
# organization's lowBalanceThreshold to at or below it, once until a top-up re-arms it.
credits_low = Signal()
