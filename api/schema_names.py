"""The names SDK generators read in the OpenAPI document: operationIds, path parameters and enum components.

A generator turns `cartTryons_create` into `client.cart_tryons.create`, so every name is derived here, once,
for every view (a new endpoint is named without being listed); a view overrides it with
`extend_schema(operation_id=...)` only where the derivation cannot be right. The rules are pinned by
tests/config/test_schema_contract.py.
"""

import re
from importlib import import_module

from drf_spectacular import openapi
from drf_spectacular.hooks import postprocess_schema_enums

from api import versions

# operationId = `<resource>_<action>`: the resource is the path's literal segments in camelCase (`/api` and
# `v1` left out, a parent collection followed by its item's id made singular: `/customers/{externalId}/photos`
# → `customerPhotos`); the action is list, retrieve, create, update (PATCH), replace (PUT), delete, or the
# verb a POST ends in (`/cart-tryons/{sessionId}/cancel` → `cartTryons_cancel`).
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*_[a-z][a-zA-Z0-9]*$")
_STANDARD_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}
_METHOD_ACTIONS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
# Where a path parameter's name cannot be derived from its collection: cart try-on sessions are "sessions"
# to partners (sessionId in webhook payloads and error details).
PATH_PARAMETER_NAMES = {"cart-tryons": "sessionId"}


def _camel(words: list[str]) -> str:
    words = [word for word in words if word]
    if not words:
        return ""
    return words[0][:1].lower() + words[0][1:] + "".join(word[:1].upper() + word[1:] for word in words[1:])


def _singular(segment: str) -> str:
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") and not segment.endswith("ss") else segment


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{")


def resource_name(segments: list[str]) -> str:
    """`["customers", "{externalId}", "photos"]` → `customerPhotos`."""
    words = []
    for index, segment in enumerate(segments):
        if _is_parameter(segment):
            continue
        later = segments[index + 1 :]
        if later and _is_parameter(later[0]) and any(not _is_parameter(s) for s in later):
            segment = _singular(segment)
        words += re.split(r"[-_]", segment)
    return _camel(words) or "root"


def path_parameter_name(name: str, collection: str) -> str:
    """One spelling per parameter: `organization_id` and an organization's `{id}` are both organizationId."""
    if name in ("id", "pk"):
        return PATH_PARAMETER_NAMES.get(collection) or _camel(
            [*re.split(r"[-_]", _singular(collection)), "Id"]
        )
    return _camel(name.split("_"))


def partner_path(path: str) -> str:
    """A path as the document spells it: `/api/organizations/{organization_id}` → `{organizationId}`."""
    segments = path.split("/")
    return "/".join(
        "{" + path_parameter_name(segment[1:-1], segments[index - 1]) + "}"
        if _is_parameter(segment)
        else segment
        for index, segment in enumerate(segments)
    )


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with operationIds named after resources and actions (see OPERATION_ID)."""

    def get_operation_id(self) -> str:
        path = re.sub(self.path_prefix, "", self.path, flags=re.IGNORECASE)
        segments = [segment for segment in path.split("/") if segment and segment != "v1"]
        action = getattr(self.view, "action", None)
        routed = set(getattr(self.view, "action_map", None) or {})
        verb = None
        if self.method == "POST" and segments and not _is_parameter(segments[-1]):
            # A viewset's POST-only extra action, or a plain view's POST on an item (.../{token}/accept).
            custom = action is not None and action not in _STANDARD_ACTIONS and routed <= {"post"}
            on_item = action is None and len(segments) > 1 and _is_parameter(segments[-2])
            if custom or on_item:
                verb = _camel(re.split(r"[-_]", segments.pop()))
        if verb is None:
            if self.method == "GET":
                verb = "list" if self._is_list_view() else "retrieve"
            else:
                verb = _METHOD_ACTIONS[self.method]
        return f"{resource_name(segments)}_{verb}"


# Choice sets drf-spectacular would name after a field with a hash suffix (`Status4b9Enum`) because another
# choice set shares the field name; the rest are in SPECTACULAR_SETTINGS (config/settings.py is full).
ENUM_NAMES = {
    "ApiKeyStatusEnum": "apikeys.models.ApiKey.Status",
    "ApiKeyModeEnum": "apikeys.models.ApiKey.Mode",
    "BulkJobStatusEnum": "customers.bulk.serializers.STATUS_CHOICES",
}
_FIELD_NAMED_ENUM = re.compile(r"^[A-Z][a-z]+(?:[0-9A-Fa-f]{3})?Enum$")


def _choice_values(declared: str) -> frozenset:
    parts = declared.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes
        try:
            choices = import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            choices = getattr(choices, attribute)
        values = getattr(choices, "values", choices)
        return frozenset(value[0] if isinstance(value, (list, tuple)) else value for value in values)
    raise ImportError(declared)


def _rename_components(node, renames: dict[str, str]):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in renames:
            node["$ref"] = "#/components/schemas/" + renames[ref.rsplit("/", 1)[-1]]
        for value in node.values():
            _rename_components(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rename_components(value, renames)


def _enum_names(result) -> None:
    schemas = result.get("components", {}).get("schemas", {})
    wanted = {_choice_values(declared): name for name, declared in ENUM_NAMES.items()}
    renames = {}
    for name, component in schemas.items():
        values = frozenset(v for v in component.get("enum", ()) if v not in ("", None))
        target = wanted.get(values)
        if target and name != target and _FIELD_NAMED_ENUM.match(name):
            renames[name] = target
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    if renames:
        _rename_components(result, renames)


def _path_parameter_names(result) -> None:
    renamed = {}
    for path, item in result.get("paths", {}).items():
        segments = path.split("/")
        names = {
            segment[1:-1]: path_parameter_name(segment[1:-1], segments[index - 1])
            for index, segment in enumerate(segments)
            if _is_parameter(segment)
        }
        for operation in [item, *(o for o in item.values() if isinstance(o, dict))]:
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "path" and parameter.get("name") in names:
                    parameter["name"] = names[parameter["name"]]
        renamed[partner_path(path)] = item
    result["paths"] = renamed


def partner_names(result, generator, request, public):
    """Postprocessing hook: drf-spectacular's enum naming, then ENUM_NAMES for its collisions, and one
    spelling per path parameter (partner_path). Runs before the examples, which are keyed by these paths."""
    result = postprocess_schema_enums(result, generator, request=request, public=public)
    _enum_names(result)
    _path_parameter_names(result)
    info = result.setdefault("info", {})
    info["version"] = versions.LATEST
    info["description"] = info.get("description", "") + VERSIONS_DESCRIPTION
    return result


VERSIONS_DESCRIPTION = (
    f"\n\nVersions: send `{versions.HEADER}: YYYY-MM-DD` to choose the version that answers; without it your "
    "organization's pinned version answers (the newest when it was created; its owner changes it with the "
    "organization PATCH's `apiVersion`). Every response names the version that answered in "
    f"`{versions.HEADER}`. This document describes the newest, {versions.LATEST}; what older versions answer "
    "differently is in the [changelog](/api/docs/changelog)."
)
