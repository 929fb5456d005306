"""Every list's pagination: Stripe-style cursors, the seed's limit/offset, and a `total` that never scans.

- `?startingAfter=<id>` / `?endingBefore=<id>`: the page after (or before) an object of the list, found by
  its position in the list's order (keyset pagination). Each page costs the same however deep it is, and
  rows inserted meanwhile neither repeat nor vanish between pages.
- `?offset=` is kept because seed 001's clients send it, but only up to MAX_OFFSET: a database still walks
  every skipped row, so a deep offset costs in proportion to its depth. Beyond it the request is refused
  with a message pointing to `startingAfter`.
- `total` is exact up to EXACT_TOTAL_MAX matching rows (counting them walks at most that many index
  entries); beyond that it is PostgreSQL's planner estimate, and `totalIsEstimate` is true.
- `hasMore` is exact in every mode: each page reads one row more than it returns.
"""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination
from rest_framework.response import Response

from api.errors import ValidationError

# Deep offsets walk every skipped row; cursors do not. Stripe has no offsets at all; 10,000 keeps every
# offset page under a few tens of milliseconds on a million-row list while leaving the seed's clients room.
MAX_OFFSET = 10_000
# Counting this many rows is an index walk of well under a millisecond; more would grow with the list.
EXACT_TOTAL_MAX = 1_000

STARTING_AFTER = "startingAfter"
ENDING_BEFORE = "endingBefore"


def _bounded_int(request, name: str, default: int, minimum: int, maximum: int | None, hint: str = "") -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(details={name: [f"{name} must be an integer."]}) from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationError(details={name: [f"{name} must be {bounds}.{hint}"]})
    return value


def list_ordering(queryset) -> list[tuple[str, bool]]:
    """The queryset's order as (field, descending) pairs, ending with the primary key so it is total."""
    names = list(queryset.query.order_by or queryset.model._meta.ordering)
    ordering = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError("Cursor pagination needs a list ordered by field names.")
        ordering.append((name.lstrip("-"), name.startswith("-")))
    pk_names = {"pk", queryset.model._meta.pk.name}
    if not ordering or ordering[-1][0] not in pk_names:
        # Ties on the last field (two rows created in one microsecond) are broken by the primary key, in the
        # direction of the first field, so an index on (…, created_at DESC, id DESC) serves the whole order.
        ordering.append(("pk", ordering[0][1] if ordering else False))
    return ordering


def keyset_filter(ordering: list[tuple[str, bool]], anchor: dict, *, after: bool) -> Q:
    """Rows strictly after (or before) `anchor` in `ordering`.

    The leading `first <= value` (or `>=`) repeats what the OR implies: it lets the planner walk the list's
    index from the anchor on and stop at the page's end, instead of OR-ing bitmaps and sorting the rest.
    """
    first, first_desc = ordering[0]
    leading = "lte" if first_desc == after else "gte"
    expression = Q()
    equal = {}
    for name, descending in ordering:
        op = "lt" if descending == after else "gt"
        expression |= Q(**equal, **{f"{name}__{op}": anchor[name]})
        equal[name] = anchor[name]
    return Q(**{f"{first}__{leading}": anchor[first]}) & expression


def _estimated_count(queryset) -> int | None:
    """PostgreSQL's estimate of the rows the queryset matches (no rows are read)."""
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.values("pk").order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg decodes json itself; keep working if it ever does not
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def list_total(queryset) -> tuple[int, bool]:
    """(total, is_estimate): exact up to EXACT_TOTAL_MAX rows, PostgreSQL's estimate beyond.

    The exact count reads at most EXACT_TOTAL_MAX + 1 index entries, whatever the list's size. Where no
    estimate exists (SQLite, the embedded single-machine mode) the count is exact.
    """
    # Kept in the list's order: the planner then counts the first entries of the list's own index, rather
    # than reading the table until it has seen enough of the organization's rows.
    counted = queryset.values("pk")[: EXACT_TOTAL_MAX + 1].count()
    if counted <= EXACT_TOTAL_MAX:
        return counted, False
    estimate = _estimated_count(queryset)
    if estimate is None:
        return queryset.values("pk").order_by().count(), False
    # The planner can guess low; we know there are more than EXACT_TOTAL_MAX.
    return max(estimate, EXACT_TOTAL_MAX + 1), True


def _could_be_id(model, field_name: str, value: str) -> bool:
    """Whether `value` can name a row by `field_name` at all: on an integer-keyed list (ledger entries, key
    events, import errors) letters are simply not in the list, rather than a database error. (NUL characters
    never get this far: api/middleware.py refuses them in any URL.)"""
    field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
    try:
        field.get_prep_value(field.to_python(value))
    except (DjangoValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` (default 20, 1–100) with `?startingAfter=` / `?endingBefore=` or a bounded `?offset=`.

    Bad values are a 400 in the seed's error format, never silently replaced. A view names the field its
    cursors refer to with `cursor_field` (default the primary key), or reads them itself with a
    `cursor_lookup(value)` method (filters naming one row, or None), and may accept `cursor_aliases` (e.g.
    `cursor` for `startingAfter`).
    """

    default_limit = 20
    max_limit = 100

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        hint = f" Page deeper with {STARTING_AFTER}=<the last id of the previous page>."
        return _bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET, hint)

    def _cursor(self, request, view) -> tuple[str | None, str | None]:
        params = request.query_params
        after = params.get(STARTING_AFTER) or None
        before = params.get(ENDING_BEFORE) or None
        for alias in getattr(view, "cursor_aliases", ()):
            after = after or params.get(alias) or None
        if after and before:
            raise ValidationError(
                f"Use {STARTING_AFTER} or {ENDING_BEFORE}, not both.",
                details={ENDING_BEFORE: [f"Cannot be combined with {STARTING_AFTER}."]},
            )
        if (after or before) and params.get(self.offset_query_param) not in (None, "", "0"):
            name = STARTING_AFTER if after else ENDING_BEFORE
            raise ValidationError(details={self.offset_query_param: [f"Cannot be combined with {name}."]})
        return after, before

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        after, before = self._cursor(request, view)
        self.offset = None if (after or before) else self.get_offset(request)
        ordering = list_ordering(queryset)
        order_by = [("-" if descending else "") + name for name, descending in ordering]
        queryset = queryset.order_by(*order_by)
        self.total, self.total_is_estimate = list_total(queryset)

        if after or before:
            cursor_field = getattr(view, "cursor_field", "pk")
            param, cursor_id = (STARTING_AFTER, after) if after else (ENDING_BEFORE, before)
            # Looked up in the list itself, so another organization's id is "not in this list", like a typo.
            # Unordered: with the list's ORDER BY … LIMIT 1 the planner may walk the list's index looking
            # for the id instead of looking it up by its own index.
            anchor = None
            if hasattr(view, "cursor_lookup"):
                # The view reads its own cursors (an opaque one it issued): filters naming one row, or None.
                lookup = view.cursor_lookup(cursor_id)
            else:
                lookup = (
                    {cursor_field: cursor_id}
                    if _could_be_id(queryset.model, cursor_field, cursor_id)
                    else None
                )
            if lookup is not None:
                anchors = queryset.filter(**lookup).order_by().values(*(n for n, _ in ordering))
                anchor = next(iter(anchors[:1]), None)
            if anchor is None:
                raise ValidationError(
                    f"No object {cursor_id} in this list.",
                    details={param: [f"No object {cursor_id} in this list (with these filters)."]},
                )
            page = queryset.filter(keyset_filter(ordering, anchor, after=bool(after)))
            if before:
                page = page.reverse()
            rows = list(page[: self.limit + 1])
            self.has_more = len(rows) > self.limit
            rows = rows[: self.limit]
            if before:
                rows.reverse()
            return rows

        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_more = len(rows) > self.limit
        return rows[: self.limit]

    def get_paginated_response(self, data):
        return Response(
            {
                "data": data,
                "total": self.total,
                "totalIsEstimate": self.total_is_estimate,
                "limit": self.limit,
                "offset": self.offset,
                "hasMore": self.has_more,
            }
        )

    def get_paginated_response_schema(self, schema):
        return page_schema(schema)

    def get_schema_operation_parameters(self, view):
        return PAGE_PARAMETERS


def page_schema(schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["data", "total", "totalIsEstimate", "limit", "offset", "hasMore"],
        "properties": {
            "data": schema,
            "total": {
                "type": "integer",
                "example": 42,
                "description": f"Matching objects: exact up to {EXACT_TOTAL_MAX}, an estimate beyond "
                "(then `totalIsEstimate` is true). Page with `hasMore`, never with `total`.",
            },
            "totalIsEstimate": {"type": "boolean", "example": False},
            "limit": {"type": "integer", "example": 20},
            "offset": {
                "type": "integer",
                "nullable": True,
                "example": 0,
                "description": "null on a cursor page (`startingAfter` / `endingBefore`).",
            },
            "hasMore": {
                "type": "boolean",
                "example": True,
                "description": "More objects follow this page in the direction of travel (after it, or "
                "before it with `endingBefore`).",
            },
        },
    }


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "required": False,
        "in": "query",
        "description": "Number of results to return (1–100, default 20).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    {
        "name": STARTING_AFTER,
        "required": False,
        "in": "query",
        "description": "An object id from the list: returns the page that follows it (pass the last id of "
        "the previous page). Costs the same at any depth; prefer it to `offset`.",
        "schema": {"type": "string"},
    },
    {
        "name": ENDING_BEFORE,
        "required": False,
        "in": "query",
        "description": "An object id from the list: returns the page just before it (pass the first id of "
        "the current page to go back).",
        "schema": {"type": "string"},
    },
    {
        "name": "offset",
        "required": False,
        "in": "query",
        "description": f"Number of results to skip, at most {MAX_OFFSET:,}; deeper pages need "
        f"`{STARTING_AFTER}`. Cannot be combined with a cursor.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    },
]


def _openapi_parameter(parameter: dict) -> OpenApiParameter:
    # The whole schema, bounds included, so clients (and the fuzzer) know what is refused before sending.
    return OpenApiParameter(parameter["name"], parameter["schema"], description=parameter["description"])


# The same parameters for custom list actions (`@extend_schema(parameters=[...])`), which DRF does not
# paginate automatically in the schema.
PAGE_OPENAPI_PARAMETERS = [_openapi_parameter(parameter) for parameter in PAGE_PARAMETERS]
