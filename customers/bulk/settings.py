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
# What one file may hold; the worker refuses a file past any of these as soon as it reads that far.
# Columns of a header (and of an XLSX row); cell text (Excel's own limit is 32,767 characters). A CSV row or
# a JSON Lines record may be as long as this many cells of that length.
IMPORT_MAX_COLUMNS = read_positive_int("CUSTOMER_IMPORT_MAX_COLUMNS", 100)
IMPORT_MAX_CELL_CHARS = read_positive_int("CUSTOMER_IMPORT_MAX_CELL_CHARS", 32_767)
# An XLSX is a zip: refuse one whose members declare (or, read, reach) more than this in all (a zip bomb).
IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES = read_positive_int(
    "CUSTOMER_IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024
)
# ...or a member over 100 KB compressed more than this (Apache POI refuses past 100:1 as well); an XML
# sheet written by a spreadsheet compresses 5-20:1, the 43 KB workbook of 1.5 M empty strings 450:1.
IMPORT_MAX_XLSX_COMPRESSION_RATIO = read_positive_int("CUSTOMER_IMPORT_MAX_XLSX_COMPRESSION_RATIO", 100)
# Distinct strings of a workbook (they are all held while its rows are read).
IMPORT_MAX_XLSX_SHARED_STRINGS = read_positive_int("CUSTOMER_IMPORT_MAX_XLSX_SHARED_STRINGS", 1_000_000)
# Rows applied per transaction: larger batches are faster, smaller ones lose less on a crash and hold
# customer row locks for less time.
IMPORT_BATCH_ROWS = read_positive_int("CUSTOMER_IMPORT_BATCH_ROWS", 1000)
# How long an export file stays downloadable before it is erased.
EXPORT_RETENTION_HOURS = read_positive_int("CUSTOMER_EXPORT_RETENTION_HOURS", 24, maximum=24 * 30)
