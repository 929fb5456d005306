"""The admin's money forms (add credits, adjust credits) and what their pages say: each change is
confirmed once, under a one-time confirmation that becomes its ledger reference."""

import re
from decimal import Decimal

from django import forms

from organizations.models import CENT, CreditLedgerEntry

# A money form's one-time confirmation: 16 random bytes, URL-safe base64 (22 characters).
CONFIRMATION_BYTES = 16
_CONFIRMATION = re.compile(r"^[A-Za-z0-9_-]{22}$")


def confirmation_reference(confirmation: str) -> str:
    """The ledger reference a money form's confirmation is recorded under ("" for none or a malformed one)."""
    return f"admin:{confirmation}" if _CONFIRMATION.match(confirmation) else ""


def money_change(verb: str, entry: CreditLedgerEntry) -> str:
    before = entry.balance_after - entry.amount
    return (
        f"{verb}: {entry.amount:+} credits (reason: {entry.description}); "
        f"balance {before} → {entry.balance_after}. Ledger entry {entry.pk}."
    )


def below_zero(after: Decimal, balance: Decimal) -> str:
    return f"Would take the balance to {after}: the balance ({balance}) can never go below 0."


class AddCreditsForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=CENT, max_value=1_000_000)
    # The reason is the ledger entry's description: every money change says why (invoice, deal, ...).
    description = forms.CharField(
        label="Reason", max_length=255, help_text="E.g. the invoice or order number. Shown to the partner."
    )


class AdjustCreditsForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("-1000000"),
        max_value=1_000_000,
        help_text="Positive for goodwill credits, negative for a correction (e.g. a chargeback).",
    )
    description = forms.CharField(
        label="Reason", max_length=255, help_text="Required. Recorded on the ledger entry and in the history."
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Must not be 0.")
        return amount
