"""Lists in the portal page like the API's: by cursor (the last row's id, looked up in the list itself), so a
deep page costs what the first does on an organization of any size."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet

from api.pagination import keyset_filter, list_ordering

PAGE_SIZE = 50


@dataclass
class Page:
    rows: list
    next_cursor: str | None  # the `after` of the next page; None on the last one
    is_first: bool


def page_after(
    queryset: QuerySet, after: str | None, *, size: int = PAGE_SIZE, cursor_field: str = "pk"
) -> Page:
    """The rows after the row whose `cursor_field` is `after` (the first page when it is missing or not in
    this list: another organization's id is just not in it)."""
    ordering = list_ordering(queryset)
    queryset = queryset.order_by(*[("-" if descending else "") + name for name, descending in ordering])
    anchor = None
    if after and len(after) <= 100:
        try:
            anchor = (
                queryset.filter(**{cursor_field: after}).order_by().values(*(n for n, _ in ordering)).first()
            )
        except (ValueError, TypeError, DjangoValidationError):  # not an id of this list's type
            anchor = None
    if anchor is not None:
        queryset = queryset.filter(keyset_filter(ordering, anchor, after=True))
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if rows and more else None
    next_cursor = (
        str(getattr(last, cursor_field if cursor_field != "pk" else "pk")) if last is not None else None
    )
    return Page(rows=rows, next_cursor=next_cursor, is_first=anchor is None)
