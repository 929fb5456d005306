"""Partner headers sent with every delivery of an endpoint (e.g. a receiver's own `Authorization`).

Up to MAX_HEADERS; their values are write-only, like the secret: stored to be sent, never shown again
(answers show MASK). Names that would change how the request travels or is verified are refused: hop-by-hop
headers, Host, Content-Length and Content-Type, and every signature or event header we send (`webhook-*`,
`x-webhook-*`) or may send (`x-garmax-*`). A name or value that could split the request (CR, LF, other
control characters) is refused too.
"""

import re

from api.errors import ValidationError

MAX_HEADERS = 10
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 1024
MASK = "********"
# RFC 9110's token: what a field name may be.
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Visible ASCII, spaces and tabs inside; no CR, LF or other control characters (RFC 9110 field-value).
VALUE_PATTERN = r"^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$"
_VALUE = re.compile(VALUE_PATTERN)
_REFUSED_NAMES = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "expect",
    }
)
_REFUSED_PREFIXES = ("webhook-", "x-webhook-", "x-garmax-")


def _name_problem(name) -> str | None:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        return f"Not a header name: letters, digits and !#$%&'*+-.^_`|~ only, at most {MAX_NAME_LENGTH}."
    lowered = name.lower()
    if lowered in _REFUSED_NAMES:
        return f"{name} is set by the delivery itself and cannot be replaced."
    if lowered.startswith(_REFUSED_PREFIXES):
        return f"{name} is reserved for our signature and event headers."
    return None


def _value_problem(value) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or not _VALUE.match(value):
        return (
            f"Must be 1 to {MAX_VALUE_LENGTH} visible ASCII characters (inner spaces and tabs allowed; no "
            "CR, LF or other control characters)."
        )
    return None


def custom_headers_merge(current: dict[str, str], changes, *, replace: bool) -> dict[str, str]:
    """The endpoint's headers after `changes` ({name: value}, a null value removing that header, or
    adding none); with `replace` (on creation) `changes` is the whole set. Names are case-insensitive: a
    new spelling replaces the old one. 400 naming each refused header, and nothing changes."""
    if not isinstance(changes, dict):
        raise ValidationError(details={"headers": ["Must be an object of header name: value."]})
    merged = {} if replace else dict(current)
    errors = {}
    for name, value in changes.items():
        problem = _name_problem(name) or (None if value is None else _value_problem(value))
        if problem:
            errors[f"headers.{name}"] = [problem]
            continue
        for existing in [n for n in merged if n.lower() == name.lower()]:
            del merged[existing]
        if value is not None:
            merged[name] = value
    if errors:
        raise ValidationError(details=errors)
    if len(merged) > MAX_HEADERS:
        raise ValidationError(details={"headers": [f"At most {MAX_HEADERS} headers."]})
    return merged


def custom_headers_masked(headers: dict[str, str]) -> dict[str, str]:
    """What partners read: the names, never the values."""
    return dict.fromkeys(sorted(headers, key=str.lower), MASK)
