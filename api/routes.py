"""Route templates: the low-cardinality name of what a request reached (usage records, metrics, logs)."""

import re
from functools import lru_cache

_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@lru_cache(maxsize=512)
def route_template(route: str) -> str:
    """`api/v1/customers/<str:external_id>` or a router regex → `/api/v1/customers/{externalId}`."""
    route = _REGEX_GROUP.sub(lambda m: "{" + _camel(m.group(1)) + "}", route)
    route = _CONVERTER.sub(lambda m: "{" + _camel(m.group(1)) + "}", route)
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + route.lstrip("/")


# Paths that resolved to no route (scanners, typos) share one label, so they cannot grow the label set.
UNMATCHED = "unmatched"


def request_route(request) -> str:
    """The route template `request` resolved to, or UNMATCHED."""
    match = getattr(request, "resolver_match", None)
    return route_template(match.route) if match is not None and match.route else UNMATCHED
