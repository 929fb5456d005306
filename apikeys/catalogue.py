"""The scope catalogue: every scope and the operations it grants, read from the views' own declarations;
and the partner operations a key can carry its own rate limit for.

Each partner view declares `required_scopes = {action: scope}` and RequiresScope enforces exactly that, so
walking the URL configuration and reading those declarations lists what a key with a scope can call — the
same table the permission check uses, never a second list kept by hand. The operations are read the same
way, so a new partner endpoint is limitable without being listed anywhere.
"""

import functools

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.settings import api_settings

from api.schema import openapi_document
from api.schema_names import partner_path
from apikeys.operations import operation_name
from apikeys.partner import PartnerAPIMixin
from apikeys.permissions import RequiresScope
from apikeys.scopes import ALL, SCOPES


def _granted_operations() -> list[tuple[str, dict]]:
    document = openapi_document()["paths"]
    operations = []
    for path, _pattern, method, callback in EndpointEnumerator().get_api_endpoints():
        view = getattr(callback, "cls", None)
        permissions = getattr(view, "permission_classes", ())
        if view is None or not any(issubclass(permission, RequiresScope) for permission in permissions):
            continue
        action = (getattr(callback, "actions", None) or {}).get(method.lower())
        scope = view.required_scopes.get(action or method.lower())
        if scope is None:
            continue  # undeclared: RequiresScope closes it to every key
        if api_settings.SCHEMA_COERCE_PATH_PK:
            path = path.replace("{pk}", "{id}")
        path = partner_path(path)  # as the OpenAPI document spells its parameters
        documented = document.get(path, {}).get(method.lower(), {})
        operations.append(
            (
                scope,
                {
                    "method": method.upper(),
                    "path": path,
                    "operationId": documented.get("operationId"),
                    "summary": documented.get("summary", ""),
                },
            )
        )
    return operations


@functools.cache
def scope_catalogue() -> list[dict]:
    """[{scope, description, operations: [{method, path, operationId, summary}]}], in SCOPES order.

    `all` grants every operation any scope grants. Computed once per process: it depends on code only.
    """
    granted = _granted_operations()
    order = lambda operation: (operation["path"], operation["method"])  # noqa: E731
    return [
        {
            "scope": scope,
            "description": description,
            "operations": sorted(
                (operation for needed, operation in granted if scope in (needed, ALL)), key=order
            ),
        }
        for scope, description in SCOPES.items()
    ]


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern


@functools.cache
def partner_operations() -> frozenset[str]:
    """Every operation of every partner view routed in the URL configuration."""
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
