"""The partner operations a key can carry its own rate limit for, e.g. `cart-tryons:create`.

An operation is `<resource>:<action>`: the resource a partner viewset declares (`operation_resource`) and
the viewset action in the partner's words (`retrieve` is `read`, `destroy` is `delete`). The catalogue
is read from the URL configuration, so a new partner endpoint is limitable without being listed here.
"""

import functools

from django.urls import URLPattern, URLResolver, get_resolver

_ACTION_NAMES = {"retrieve": "read", "destroy": "delete", "partial_update": "update"}


def operation_name(resource: str | None, action: str | None) -> str | None:
    if not resource or not action:
        return None
    return f"{resource}:{_ACTION_NAMES.get(action, action).replace('_', '-')}"


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern


@functools.cache
def partner_operations() -> frozenset[str]:
    """Every operation of every partner view routed in the URL configuration."""
    from apikeys.partner import PartnerAPIMixin  # the mixin's module imports this one

    names = set()
    for pattern in _patterns(get_resolver()):
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None or not issubclass(view_class, PartnerAPIMixin):
            continue
        resource = getattr(view_class, "operation_resource", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        names.update(operation_name(resource, action) for action in actions.values())
    names.discard(None)
    return frozenset(names)
