"""The usage app's settings, read from the environment once (README, Configuration)."""

from config.environment import read_positive_int

# The raw request log's retention is config/settings.py's API_USAGE_RETENTION_DAYS (read where it is used).
# Hourly rollups are tiny (hundreds of rows per busy hour): kept long enough for year-on-year usage.
ROLLUP_RETENTION_DAYS = read_positive_int("USAGE_ROLLUP_RETENTION_DAYS", 400, minimum=1)
# Partitions made ahead of time, so midnight's first flush never waits on DDL.
PARTITIONS_AHEAD_DAYS = read_positive_int("USAGE_PARTITIONS_AHEAD_DAYS", 3, minimum=1, maximum=30)
