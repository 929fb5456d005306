"""How every timestamp of the API is written: ISO 8601, UTC, whole seconds, `Z`, and a four-digit year.

REST_FRAMEWORK's DATETIME_FORMAT, which writes the same text through strftime, is config/datetime_format.py.
"""

from datetime import UTC, datetime


def timestamp_text(moment: datetime) -> str:
    """`moment` as every timestamp of the API is written: UTC, seconds, `Z`, and a four-digit year
    (strftime's `%Y` writes year 1 as "1" on glibc)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"
