"""The one catalogue of the events partners receive by webhook, and the one way to announce them.

Each app declares its own events once, in its `events.py` (found by ApiConfig.ready): the name, what it
means, the serializer that describes its `data`, the builder that makes that `data` from the app's objects,
an example, and whether partners may subscribe to it. An emitter passes the declared constant:

    event_emit(events.CREDITS_LOW, organization_id=entry.organization_id, entry=entry, threshold=threshold)

The webhooks app listens to `event_emitted` and records what it is given in its outbox; the API docs, the
OpenAPI document and the subscription validation read the catalogue through `event_types()`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.dispatch import Signal
from rest_framework import serializers

# The order partners read the catalogue in (GET /api/docs/events, the OpenAPI document): the results they
# integrate for first, their account's events after, the test event last. Each app that declares events is
# listed here once; within an app, its events keep the order of its declarations.
OWNERS = ("tryons", "customers", "organizations", "webhooks")


@dataclass(frozen=True, eq=False)  # a declared constant is itself: compared and hashed by identity
class EventType:
    name: str
    owner: str
    description: str
    data: type[serializers.Serializer]
    # Makes the event's `data` from the owner's objects (keyword arguments), as `data` describes it.
    build: Callable[..., dict]
    example: dict
    # The test event is sent on request only, never by subscription.
    subscribable: bool = True


_event_types: dict[str, EventType] = {}


def event_type_declare(
    *,
    name: str,
    owner: str,
    description: str,
    data: type[serializers.Serializer],
    build: Callable[..., dict],
    example: dict,
    subscribable: bool = True,
) -> EventType:
    """Add an event to the catalogue and return its constant; a name declared twice stops start-up."""
    if name in _event_types:
        raise ValueError(f"The event {name!r} is declared twice")
    if owner not in OWNERS:
        raise ValueError(f"{owner!r} declares {name!r} but is not listed in api.events.OWNERS")
    if not (description and example):
        raise ValueError(f"The event {name!r} needs a description and an example")
    event_type = EventType(name, owner, description, data, build, example, subscribable)
    _event_types[name] = event_type
    return event_type


def event_types() -> list[EventType]:
    """Every declared event, in the order partners read them (OWNERS, then declaration order)."""
    # Apps declare their events while Django starts; a list read before that would miss some.
    if not apps.ready:
        raise RuntimeError("The event catalogue is complete only once every app is ready")
    return sorted(_event_types.values(), key=lambda e: OWNERS.index(e.owner))


def event_names() -> list[str]:
    return [event_type.name for event_type in event_types()]


def subscribable_event_names() -> list[str]:
    return [event_type.name for event_type in event_types() if event_type.subscribable]


def event_type_get(name: str) -> EventType:
    """The declared event of that name; ValueError for any other."""
    try:
        return _event_types[name]
    except KeyError:
        raise ValueError(f"Unknown webhook event {name!r}") from None


# Sent by `event_emit` with `event_type`, `organization_id` and `data`.
event_emitted = Signal()


def event_emit(event_type: EventType, *, organization_id: str, **subjects) -> None:
    """Announce that `event_type` happened to the organization; its `data` is built from `subjects` now.

    Call it inside the transaction of the change that causes the event: receivers (the webhooks outbox)
    write in that transaction, so the event commits or rolls back with the change. A receiver's error
    propagates to the caller, inside that transaction.
    """
    if _event_types.get(event_type.name) is not event_type:
        raise ValueError(f"{event_type.name!r} is not a declared event")
    data = event_type.build(**subjects)
    event_emitted.send(sender=EventType, event_type=event_type, organization_id=organization_id, data=data)
