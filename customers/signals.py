"""Signals customers sends to the apps built on it (it cannot import them: see customers.erasure)."""

from django.dispatch import Signal

# Sent inside the transaction that ends an import job (kwargs: customer_import, payload), so a receiver
# recording a webhook event (webhooks: `customers.imported`) commits with the job's final state or not at all.
customers_imported = Signal()
