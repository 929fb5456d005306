"""How every timestamp of the API is written: ISO 8601, UTC, whole seconds, `Z`, and a four-digit year.

No Django or DRF imports: config/settings.py reads DATETIME_FORMAT from here.
"""

from datetime import UTC, datetime


def timestamp_text(moment: datetime) -> str:
    """`moment` as every timestamp of the API is written: UTC, seconds, `Z`, and a four-digit year
    (strftime's `%Y` writes year 1 as "1" on glibc)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def _strftime_pattern() -> str:
    """REST_FRAMEWORK's DATETIME_FORMAT: DRF hands it to strftime, whose `%Y` pads to four digits on some
    C libraries (BSD, macOS) and not on others (glibc, which pads with `%4Y`). Chosen once at start-up by
    asking this platform, and refused loudly if neither pads."""
    sample = datetime(1, 1, 1)
    for year in ("%Y", "%4Y"):
        if sample.strftime(year) == "0001":
            return f"{year}-%m-%dT%H:%M:%SZ"
    raise RuntimeError("This platform's strftime cannot write a four-digit year; timestamps would be wrong.")


DATETIME_FORMAT = _strftime_pattern()
