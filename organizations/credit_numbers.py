"""Credits on the wire, in API answers and webhook events alike (a leaf: events and serializers share it)."""

from rest_framework import serializers

from organizations.models import credits_number


class CreditsField(serializers.DecimalField):
    """Credits as JSON numbers with at most two decimals: 100, 3.6 — never "100.00" or 100.0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        value = super().to_representation(value)
        return None if value is None else credits_number(value)
