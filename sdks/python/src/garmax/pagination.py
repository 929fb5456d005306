"""Every list is an iterator over all its objects, fetched page by page with the API's cursor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from ._http import Transport

T = TypeVar("T")


class ListIterator(Generic[T]):
    """Iterating yields every object of the list, requesting the next page (`startingAfter` the last id seen)
    only when the one in hand is used up; `pages()` yields the raw pages instead, `first_page()` one page."""

    def __init__(self, transport: Transport, path: str, params: dict[str, Any]):
        self._transport = transport
        self._path = path
        self._params = {key: value for key, value in params.items() if value is not None}

    def first_page(self) -> dict[str, Any]:
        return self._transport.request("GET", self._path, params=self._params)

    def pages(self) -> Iterator[dict[str, Any]]:
        params = dict(self._params)
        # Paging backwards (endingBefore) moves the cursor to the first id of each page instead.
        backwards = "endingBefore" in params
        while True:
            page = self._transport.request("GET", self._path, params=params)
            yield page
            data = page.get("data") or []
            if not page.get("hasMore") or not data:
                return
            params.pop("offset", None)
            if backwards:
                params["endingBefore"] = data[0]["id"]
            else:
                params["startingAfter"] = data[-1]["id"]

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.get("data") or []

    def to_list(self, max_items: int | None = None) -> list[T]:
        items: list[T] = []
        if max_items is not None and max_items <= 0:
            return items
        for item in self:
            items.append(item)
            if max_items is not None and len(items) >= max_items:
                break
        return items
