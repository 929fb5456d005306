"""Limits of bulk imports and exports, read from the environment once (config/settings.py is full).

Imported by CustomersConfig.ready(), so a malformed value stops start-up like any other setting. Tests
override these module attributes.
"""

from config.environment import read_positive_int

# Largest import file, uploaded or fetched; an upload declaring more is refused before it is read.
IMPORT_MAX_BYTES = read_positive_int("CUSTOMER_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Data rows per import file (the header excluded); a longer file fails before any row is applied.
IMPORT_MAX_ROWS = read_positive_int("CUSTOMER_IMPORT_MAX_ROWS", 100_000)
# Total wall-clock budget of fetching an import's URL (connect, headers, body, redirects).
IMPORT_FETCH_TIMEOUT_SECONDS = read_positive_int("CUSTOMER_IMPORT_FETCH_TIMEOUT_SECONDS", 30)
# An XLSX is a zip: refuse one whose members would inflate beyond this (a zip bomb) before opening it.
IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES = read_positive_int(
    "CUSTOMER_IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024
)
# Rows applied per transaction: larger batches are faster, smaller ones lose less on a crash and hold
# customer row locks for less time.
IMPORT_BATCH_ROWS = read_positive_int("CUSTOMER_IMPORT_BATCH_ROWS", 1000)
# How long an export file stays downloadable before it is erased.
EXPORT_RETENTION_HOURS = read_positive_int("CUSTOMER_EXPORT_RETENTION_HOURS", 24, maximum=24 * 30)
