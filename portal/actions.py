"""How a portal form acts: its fields are checked by the API twin's own serializer and the change is made by
the same service, so a rule holds the same on both sides; a refusal becomes a message on the page."""

from collections.abc import Callable

from django.contrib import messages
from rest_framework import serializers

from api.errors import ApiError


def _describe(details: dict) -> str:
    parts = []
    for field, problems in details.items():
        problems = problems if isinstance(problems, list | tuple) else [problems]
        parts.append(f"{field}: {' '.join(str(problem) for problem in problems)}")
    return "; ".join(parts)


def validated(request, serializer_class: type[serializers.Serializer], data) -> dict | None:
    """`data` checked by the API's serializer; None (and an error message) when it refuses it."""
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    messages.error(request, "Not saved. " + _describe(serializer.errors))
    return None


def perform(request, change: Callable[[], object], *, done: str):
    """Run a service call; its refusal (an API error) is shown as the API would name it. Returns its result,
    or None when refused."""
    try:
        result = change()
    except ApiError as refusal:
        detail = _describe(refusal.details) if refusal.details else ""
        messages.error(request, f"{refusal.message} {detail}".strip())
        return None
    messages.success(request, done)
    return result if result is not None else True
