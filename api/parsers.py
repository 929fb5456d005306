"""The JSON request parser: DRF's, refusing up front what would otherwise crash later as a 500.

- a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413, before reading it;
- nesting deeper than MAX_JSON_DEPTH: Python's decoder recurses, and a few KB of `[[[[` raise
  RecursionError;
- lone surrogates (`"\\udfff"`): valid JSON escapes, but no valid text; PostgreSQL refuses them on insert
  (jsonb and text alike).
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.errors import PayloadTooLarge, ValidationError
from api.numbers import whole_number

MAX_JSON_DEPTH = 64
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_refusal(data) -> str | None:
    """Why parsed JSON `data` cannot be accepted (too deep, a lone surrogate), or None when it can."""
    stack = [(data, 1)]
    while stack:  # iterative: the structure may be deep enough to exhaust the recursion limit
        value, depth = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                return "strings must not contain lone surrogate characters (\\ud800-\\udfff)."
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels."
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def json_loads(text: str | bytes):
    """json.loads with the parser's limits; raises ValueError with the reason."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels.") from None
    problem = json_refusal(data)
    if problem:
        raise ValueError(problem)
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = whole_number(request.META.get("CONTENT_LENGTH")) if request is not None else None
        if limit is not None and declared is not None and declared > limit:
            raise PayloadTooLarge(
                f"The request body must be at most {limit} bytes.", details={"maxBytes": limit}
            )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        problem = json_refusal(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data


# Room in a multipart body for the boundaries, part headers and the small fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def multipart_parse_bounded(request, *, max_file_bytes: int, what: str) -> None:
    """Refuse an oversized upload from its Content-Length before Django reads any of it; then parse it, so
    Django's own limits surface as our errors. `what` names the file in the message ("Photo")."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValidationError(details={"Content-Length": ["Must be an integer."]}) from None
    if declared > max_file_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(
            f"{what} must be at most {max_file_bytes} bytes.", details={"maxBytes": max_file_bytes}
        )
    try:
        request.data  # noqa: B018 - parse now
    except RequestDataTooBig:
        raise PayloadTooLarge("Form fields are too large.") from None
    except SuspiciousOperation:
        raise ValidationError(
            "Malformed multipart body.", details={"body": ["Too many fields or files."]}
        ) from None
