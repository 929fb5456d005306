"""Whole numbers in text a peer sent: query parameters, and headers of requests and responses."""

import re

_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str | None) -> int | None:
    """`text` as a non-negative integer if it is ASCII digits and nothing else, otherwise None.

    `str.isdigit()` is not this check: it is true for "²" and other Unicode digits that `int()` refuses, so
    `isdigit() and int()` raises on them (a 500 for `?status=²`), and `int()` alone takes "١٢" and " 12 ",
    which no header or status code is.
    """
    if text and _DIGITS.fullmatch(text):
        return int(text)
    return None
