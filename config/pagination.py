from rest_framework import pagination
from rest_framework.response import Response

from config.errors import ValidationError


def _bounded_int(request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(details={name: [f"{name} must be an integer."]}) from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationError(details={name: [f"{name} must be {bounds}."]})
    return value


# Far beyond any real list, and well inside PostgreSQL's bigint OFFSET.
MAX_OFFSET = 1_000_000_000


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` (default 20, 1–100) and `?offset=`; bad values are a 400, not silently replaced."""

    default_limit = 20
    max_limit = 100

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return _bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_paginated_response(self, data):
        return Response(
            {
                "data": data,
                "total": self.count,
                "limit": self.limit,
                "offset": self.offset,
                "hasMore": self.offset + self.limit < self.count,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "total", "limit", "offset", "hasMore"],
            "properties": {
                "data": schema,
                "total": {"type": "integer", "example": 42},
                "limit": {"type": "integer", "example": 20},
                "offset": {"type": "integer", "example": 0},
                "hasMore": {"type": "boolean", "example": True},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "Number of results to return (1–100, default 20).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            },
            {
                "name": "offset",
                "required": False,
                "in": "query",
                "description": "Number of results to skip.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
        ]
