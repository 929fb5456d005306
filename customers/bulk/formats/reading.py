"""What every import format's reader shares: the formats and their detection, the caps a file is read
under, ImportFileInvalid and its codes, and turning a header and cells into rows of raw values."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

FORMATS = ("csv", "jsonl", "xlsx")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}
CONTENT_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FIELDS = ("externalId", "email", "name", "metadata")
EXPORT_COLUMNS = ("externalId", "email", "name", "metadata", "latestPhotoS3Key", "createdAt", "updatedAt")
ZIP_SIGNATURE = b"PK\x03\x04"
CHUNK_BYTES = 64 * 1024
IGNORED_COLUMNS_SHOWN = 50


class ImportFileInvalid(Exception):
    """The file as a whole cannot be imported; nothing of it was applied."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


@dataclass(frozen=True)
class ReadCaps:
    """What an import file may hold (customers.bulk.settings); past any of it the file is refused."""

    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_inflated_bytes: int
    max_shared_strings: int
    max_compression_ratio: int
    # The columns read (the others are reported as ignored) and the one every file must name: the
    # resource's (customers.bulk.resources).
    fields: tuple[str, ...] = FIELDS
    key: str = "externalId"

    @property
    def max_line_chars(self) -> int:
        """A CSV row or a JSON Lines record: at most max_columns cells of max_cell_chars, quoted."""
        return self.max_columns * (self.max_cell_chars + 3)


@dataclass
class ParsedFile:
    # (row number as the partner sees it, {field: raw value}); tabular formats give metadata as text.
    rows: list[tuple[int, dict]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    tabular: bool = True


def format_detect(*, declared: str | None, file_name: str) -> str | None:
    """The declared format, else the one the file name's extension names, else None."""
    if declared:
        return declared
    name = file_name.lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if name.endswith(ext)), None)


def signature_check(head: bytes, fmt: str) -> None:
    """The one check cheap enough for the web request: the first bytes say zip (XLSX) or not (CSV, JSON
    Lines). Everything else is read by the worker."""
    if fmt == "xlsx" and not head.startswith(ZIP_SIGNATURE):
        raise wrong_format("xlsx", "an XLSX workbook (it is not a zip archive)")
    if fmt != "xlsx" and head.startswith(ZIP_SIGNATURE):
        hint = "CSV text" if fmt == "csv" else "JSON Lines"
        raise wrong_format(fmt, f"{hint} but a zip archive, perhaps an XLSX workbook")


def wrong_format(fmt: str, hint: str) -> ImportFileInvalid:
    return ImportFileInvalid("WrongFormat", f"The file is not {hint} ({fmt} was expected).")


def invalid_encoding(where: str) -> ImportFileInvalid:
    return ImportFileInvalid(
        "InvalidEncoding",
        f"The file must be UTF-8 text; {where} is not valid UTF-8. "
        "Save it as 'CSV UTF-8' or convert it before importing.",
    )


def too_many(max_rows: int) -> ImportFileInvalid:
    return ImportFileInvalid("TooManyRows", f"The file has more than {max_rows} data rows; split it.")


def too_many_columns(caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid("TooManyColumns", f"The file has more than {caps.max_columns} columns.")


def cell_too_long(row: int, caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid(
        "CellTooLong", f"Row {row} has a cell longer than {caps.max_cell_chars} characters."
    )


def row_too_long(row: int, caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid(
        "RowTooLong",
        f"Line {row} is longer than {caps.max_line_chars} characters "
        f"({caps.max_columns} columns of {caps.max_cell_chars}).",
    )


def _header(names: list, caps: ReadCaps) -> tuple[dict[str, int], list[str]]:
    """{field: column index} of the known columns, and the names of the ignored ones."""
    if len(names) > caps.max_columns:
        raise too_many_columns(caps)
    cleaned = ["" if name is None else str(name).strip() for name in names]
    if caps.key not in cleaned:
        found = ", ".join(repr(name[:100]) for name in cleaned[:10] if name) or "nothing"
        others = ", ".join(name for name in caps.fields if name != caps.key)
        raise ImportFileInvalid(
            "MissingHeader",
            f"The first row must be a header naming a {caps.key} column (and optionally {others}); "
            f"found {found}.",
        )
    duplicates = sorted({name for name in cleaned if name and cleaned.count(name) > 1})
    if duplicates:
        raise ImportFileInvalid("MissingHeader", f"The header names {', '.join(duplicates)} more than once.")
    columns = {name: index for index, name in enumerate(cleaned) if name in caps.fields}
    ignored = [name for name in cleaned if name and name not in caps.fields]
    return columns, ignored


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet's 12345.0 is the id 12345
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _tabular_row(cells: list, columns: dict[str, int], width: int) -> dict | str:
    if len(cells) > width and any(_cell(c).strip() for c in cells[width:]):
        return f"The row has {len(cells)} cells but the header names {width} columns."
    # An empty cell leaves the stored value as it is, like a field left out of POST /v1/customers.
    values = {}
    for name, index in columns.items():
        value = _cell(cells[index]) if index < len(cells) else ""
        if value != "":
            values[name] = value
    return values


def tabular(rows: Iterator[tuple[int, list]], caps: ReadCaps, empty: str) -> ParsedFile:
    """Header and data rows of a CSV file or a sheet: (row number, cells) of each row holding a value."""
    first = next(rows, None)
    if first is None:
        raise ImportFileInvalid("MissingHeader", f"{empty}: a header row is required.")
    header = first[1]
    columns, ignored = _header(header, caps)
    parsed = ParsedFile(ignored_columns=ignored[:IGNORED_COLUMNS_SHOWN])
    for row_number, cells in rows:
        if len(parsed.rows) >= caps.max_rows:
            raise too_many(caps.max_rows)
        parsed.rows.append((row_number, _tabular_row(cells, columns, len(header))))
    return parsed
