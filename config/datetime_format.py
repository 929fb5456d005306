"""The strftime pattern of REST_FRAMEWORK's DATETIME_FORMAT, which writes what api.timestamps.timestamp_text
writes."""

from datetime import datetime


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
