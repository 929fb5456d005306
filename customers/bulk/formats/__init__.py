"""Reading import files and writing export files: CSV (the csv module), JSON Lines, XLSX.

Readers run in the bulk worker, never in a web request, and stream: a file is read a line or an XML element
at a time, under caps on rows, columns, cell length and (XLSX) members, inflated size, compression ratio and
shared strings, so a small hostile file is refused after a bounded amount of work and memory. They turn a
file into numbered rows of raw values, or raise `ImportFileInvalid` with a code a partner can act on
(WrongFormat, InvalidEncoding, MissingHeader, TooManyRows, TooManyColumns, CellTooLong, RowTooLong,
FileTooLarge); a problem with one row is that row's error, never the file's. By concept: reading.py
(what every reader shares), text_files.py (CSV, JSON Lines), xlsx.py (our streaming XLSX reader), rows.py
(a file into rows), writing.py (export files, every cell inert in spreadsheets).
"""

from customers.bulk.formats.reading import (
    CONTENT_TYPES,
    EXPORT_COLUMNS,
    EXTENSIONS,
    FIELDS,
    FORMATS,
    ZIP_SIGNATURE,
    ImportFileInvalid,
    ParsedFile,
    ReadCaps,
    format_detect,
    signature_check,
)
from customers.bulk.formats.rows import rows_read
from customers.bulk.formats.writing import file_write

__all__ = [
    "CONTENT_TYPES",
    "EXPORT_COLUMNS",
    "EXTENSIONS",
    "FIELDS",
    "FORMATS",
    "ZIP_SIGNATURE",
    "ImportFileInvalid",
    "ParsedFile",
    "ReadCaps",
    "file_write",
    "format_detect",
    "rows_read",
    "signature_check",
]
