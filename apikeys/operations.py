"""The partner operations a key can carry its own rate limit for, e.g. `cart-tryons:create`.

An operation is `<resource>:<action>`: the resource a partner viewset declares (`operation_resource`) and
the viewset action in the partner's words (`retrieve` is `read`, `destroy` is `delete`). Every routed
operation is listed by apikeys.catalogue.partner_operations, read from the URL configuration.
"""

_ACTION_NAMES = {"retrieve": "read", "destroy": "delete", "partial_update": "update"}


def operation_name(resource: str | None, action: str | None) -> str | None:
    if not resource or not action:
        return None
    return f"{resource}:{_ACTION_NAMES.get(action, action).replace('_', '-')}"
