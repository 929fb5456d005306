"""Reading an import file into rows, whatever its format."""

from typing import BinaryIO

from customers.bulk.formats.reading import (
    ZIP_SIGNATURE,
    ParsedFile,
    ReadCaps,
    signature_check,
)
from customers.bulk.formats.text_files import read_csv, read_jsonl
from customers.bulk.formats.xlsx import read_xlsx


def rows_read(source: BinaryIO, fmt: str, caps: ReadCaps) -> ParsedFile:
    """Every data row of the file (a seekable binary file), or ImportFileInvalid: nothing is applied
    before this succeeds."""
    signature_check(source.read(len(ZIP_SIGNATURE)), fmt)
    source.seek(0)
    if fmt == "csv":
        return read_csv(source, caps)
    if fmt == "jsonl":
        return read_jsonl(source, caps)
    return read_xlsx(source, caps)
