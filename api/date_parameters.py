"""The one reading of date and date-time parameters (`from`, `to`, … of any endpoint, in a query or a body).

A parameter is an ISO-8601 date (`2026-01-15`) or date-time (`2026-01-15T10:30:00Z`, with `Z`, an offset
such as `+02:00`, or no zone, which is UTC), converted to UTC and accepted between EARLIEST and LATEST: the
years Python's datetime and PostgreSQL's timestamptz both hold (1 to 9999), less a day at each end, so that a
read may move a bound by a day (a date `to` covers its whole day) or a bucket without leaving them: with the
full range, `?to=9999-12-31` plus its day would overflow in Python, and `0001-01-01T00:00:00+23:59` (a moment
of year 0 in UTC) would reach PostgreSQL, which refuses it.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from api.errors import ValidationError
from api.timestamps import timestamp_text

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)

# What the whole value may look like before Python parses it: dates and times with ASCII digits only,
# seconds and fractions optional, `Z` or ±HH:MM / ±HHMM. Python's own fromisoformat also takes week
# dates, ordinal days and other digits, none of which a partner means to send.
_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|z|[+-]\d{2}:?\d{2})?)?$",
    re.ASCII,
)
_DATE_ONLY = 10


BOUNDS_TEXT = f"between {timestamp_text(EARLIEST)} and {timestamp_text(LATEST)}"
HELP = (
    "An ISO-8601 date (2026-01-15) or date-time (2026-01-15T10:30:00Z; a time without a zone is UTC), "
    f"{BOUNDS_TEXT}."
)


def is_date_only(raw: str) -> bool:
    return len(raw) == _DATE_ONLY


def date_parameter(raw: str | None, *, field: str, day_end: bool = False) -> datetime | None:
    """`raw` as an aware UTC datetime, None when absent or empty; a 400 ValidationError naming `field`
    for anything else. A date alone is the start of its day, or with `day_end` the start of the next
    (so a date `to` covers its whole day)."""
    if raw is None or raw == "":
        return None
    invalid = ValidationError(details={field: [HELP]})
    if not isinstance(raw, str) or len(raw) > 40 or not _SHAPE.match(raw):
        raise invalid
    try:
        if is_date_only(raw):
            day = date.fromisoformat(raw)
            value = datetime.combine(day, time.min, tzinfo=UTC) + (
                timedelta(days=1) if day_end else timedelta()
            )
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid from None
    if not EARLIEST <= value <= LATEST:
        raise invalid
    return value


def date_openapi_parameter(name: str, description: str) -> OpenApiParameter:
    """A query parameter read by `date_parameter`, documented with its format and bounds, so clients (and
    tests/config/test_date_parameters.py, which fuzzes every such parameter) know it for one."""
    return OpenApiParameter(
        name,
        {"type": "string", "format": "date-time", "minLength": 10, "maxLength": 40},
        description=f"{description} {HELP}",
    )


class DateTimeParameterField(serializers.DateTimeField):
    """A date or date-time in a request body, read by `date_parameter` (so with its bounds), documented as
    a date-time like DRF's own field; errors nest under the field as DRF's do."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not value:
            self.fail("invalid", format=HELP)
        try:
            return date_parameter(value, field=self.field_name)
        except ValidationError:
            raise serializers.ValidationError(HELP) from None
