"""Reading import files and writing export files: CSV (the csv module), JSON Lines, XLSX (openpyxl).

Readers turn a file into numbered rows of raw values, or raise `ImportFileInvalid` with a code a partner
can act on (WrongFormat, InvalidEncoding, MissingHeader, TooManyRows, FileTooLarge); a problem with one
row is that row's error, never the file's. Writers neutralize spreadsheet formulas: a cell starting with
`=`, `+`, `-`, `@` (or a tab or carriage return, which some spreadsheets skip before one) is prefixed with
`'`, so opening an export never runs a formula a shopper typed into their name.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from config.parsers import json_loads

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
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ImportFileInvalid(Exception):
    """The file as a whole cannot be imported; nothing of it was applied."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


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


def _wrong_format(fmt: str, hint: str) -> ImportFileInvalid:
    return ImportFileInvalid("WrongFormat", f"The file is not {hint} ({fmt} was expected).")


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise ImportFileInvalid(
            "InvalidEncoding",
            f"The file must be UTF-8 text; byte {exc.start} (line {line}) is not valid UTF-8. "
            "Save it as 'CSV UTF-8' or convert it before importing.",
        ) from None


def _header(names: list, fmt: str) -> tuple[dict[str, int], list[str]]:
    """{field: column index} of the known columns, and the names of the ignored ones."""
    cleaned = ["" if name is None else str(name).strip() for name in names]
    if "externalId" not in cleaned:
        found = ", ".join(repr(name) for name in cleaned[:10] if name) or "nothing"
        raise ImportFileInvalid(
            "MissingHeader",
            f"The first row must be a header naming an externalId column (and optionally email, name, "
            f"metadata); found {found}.",
        )
    duplicates = sorted({name for name in cleaned if name and cleaned.count(name) > 1})
    if duplicates:
        raise ImportFileInvalid("MissingHeader", f"The header names {', '.join(duplicates)} more than once.")
    columns = {name: index for index, name in enumerate(cleaned) if name in FIELDS}
    ignored = [name for name in cleaned if name and name not in FIELDS]
    return columns, ignored


def _too_many(max_rows: int) -> ImportFileInvalid:
    return ImportFileInvalid("TooManyRows", f"The file has more than {max_rows} data rows; split it.")


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


def _read_csv(content: bytes, max_rows: int) -> ParsedFile:
    if content.startswith(ZIP_SIGNATURE):
        raise _wrong_format("csv", "CSV text but a zip archive, perhaps an XLSX workbook")
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileInvalid("MissingHeader", "The file is empty: a header row is required.")
        columns, ignored = _header(header, "csv")
        parsed = ParsedFile(ignored_columns=ignored)
        row_number = 1
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(parsed.rows) >= max_rows:
                raise _too_many(max_rows)
            parsed.rows.append((row_number, _tabular_row(cells, columns, len(header))))
    except csv.Error as exc:
        raise ImportFileInvalid("WrongFormat", f"Row {reader.line_num} is not valid CSV: {exc}.") from None
    return parsed


def _read_jsonl(content: bytes, max_rows: int) -> ParsedFile:
    if content.startswith(ZIP_SIGNATURE):
        raise _wrong_format("jsonl", "JSON Lines but a zip archive, perhaps an XLSX workbook")
    parsed = ParsedFile(tabular=False)
    ignored: dict[str, None] = {}
    first = True
    for number, line in enumerate(_decode(content).split("\n"), start=1):
        if not line.strip():
            continue
        if len(parsed.rows) >= max_rows:
            raise _too_many(max_rows)
        try:
            value = json_loads(line)  # bounded: deep nesting is that line's error, not a crash
        except ValueError as exc:
            if first:
                raise _wrong_format("jsonl", f"JSON Lines: line {number} is not JSON ({exc})") from None
            parsed.rows.append((number, f"The line is not valid JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            if first:
                raise _wrong_format("jsonl", f"JSON Lines: line {number} is not a JSON object")
            parsed.rows.append((number, "The line must be a JSON object."))
            continue
        first = False
        for key in value:
            if key not in FIELDS:
                ignored[key] = None
        parsed.rows.append((number, {key: item for key, item in value.items() if key in FIELDS}))
    parsed.ignored_columns = list(ignored)[:50]
    return parsed


def _xlsx_open(content: bytes, max_uncompressed: int):
    import openpyxl  # imported when needed: most processes never read a workbook

    if not content.startswith(ZIP_SIGNATURE):
        raise _wrong_format("xlsx", "an XLSX workbook (it is not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise _wrong_format("xlsx", "a readable XLSX workbook") from None
    if inflated > max_uncompressed:
        raise ImportFileInvalid(
            "FileTooLarge", f"The workbook inflates to more than {max_uncompressed} bytes when unzipped."
        )
    try:
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a dozen types (KeyError, InvalidFileException, XML errors...)
        raise _wrong_format("xlsx", "a readable XLSX workbook") from None


def _read_xlsx(content: bytes, max_rows: int, max_uncompressed: int) -> ParsedFile:
    workbook = _xlsx_open(content, max_uncompressed)
    try:
        if not workbook.worksheets:
            raise ImportFileInvalid("MissingHeader", "The workbook has no sheet.")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        try:
            header = next(rows, None)
            if header is None:
                raise ImportFileInvalid(
                    "MissingHeader", "The first sheet is empty: a header row is required."
                )
            columns, ignored = _header(list(header), "xlsx")
            parsed = ParsedFile(ignored_columns=ignored)
            for row_number, cells in enumerate(rows, start=2):
                if not any(_cell(c).strip() for c in cells):
                    continue
                if len(parsed.rows) >= max_rows:
                    raise _too_many(max_rows)
                parsed.rows.append((row_number, _tabular_row(list(cells), columns, len(header))))
        except ImportFileInvalid:
            raise
        except Exception:
            raise _wrong_format("xlsx", "a readable XLSX workbook") from None
        return parsed
    finally:
        workbook.close()


def rows_read(content: bytes, fmt: str, *, max_rows: int, max_uncompressed: int) -> ParsedFile:
    """Every data row of the file, or ImportFileInvalid (nothing is applied before this succeeds)."""
    if fmt == "csv":
        return _read_csv(content, max_rows)
    if fmt == "jsonl":
        return _read_jsonl(content, max_rows)
    return _read_xlsx(content, max_rows, max_uncompressed)


def header_check(content: bytes, fmt: str, *, max_uncompressed: int) -> None:
    """The cheap checks an upload gets before it is accepted: format, encoding, header (XLSX: its zip)."""
    if fmt == "xlsx":
        _xlsx_open(content, max_uncompressed).close()
        return
    if fmt == "csv":
        if content.startswith(ZIP_SIGNATURE):
            raise _wrong_format("csv", "CSV text but a zip archive, perhaps an XLSX workbook")
        header = next(csv.reader(io.StringIO(_decode(content), newline="")), None)
        if header is None:
            raise ImportFileInvalid("MissingHeader", "The file is empty: a header row is required.")
        _header(header, fmt)
        return
    if content.startswith(ZIP_SIGNATURE):
        raise _wrong_format("jsonl", "JSON Lines but a zip archive, perhaps an XLSX workbook")
    lines = (line for line in _decode(content).split("\n") if line.strip())
    _read_jsonl(next(lines, "").encode(), max_rows=1)  # the first record decides the format


# --- Writing ----------------------------------------------------------------------------------------


def neutralize(value: str) -> str:
    """`value` made inert in a spreadsheet: a leading formula trigger is escaped with `'`."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


class _CsvWriter:
    def __init__(self):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.writer.writerow(EXPORT_COLUMNS)

    def write(self, row: dict) -> None:
        self.writer.writerow([neutralize(_text(row[name])) for name in EXPORT_COLUMNS])

    def finish(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


class _JsonlWriter:
    """JSON Lines is data, not a spreadsheet: values are written exactly as stored."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, row: dict) -> None:
        self.lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))

    def finish(self) -> bytes:
        return ("\n".join(self.lines) + ("\n" if self.lines else "")).encode("utf-8")


class _XlsxWriter:
    def __init__(self):
        import openpyxl
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.illegal = ILLEGAL_CHARACTERS_RE
        self.workbook = openpyxl.Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("customers")
        self.sheet.append(list(EXPORT_COLUMNS))

    def write(self, row: dict) -> None:
        # Control characters cannot be stored in the XML of a sheet; they become U+FFFD.
        self.sheet.append(
            [neutralize(self.illegal.sub("\ufffd", _text(row[name]))) for name in EXPORT_COLUMNS]
        )

    def finish(self) -> bytes:
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def file_write(fmt: str, rows: Iterable[dict]) -> bytes:
    """The export file of `rows` (dicts keyed by EXPORT_COLUMNS) in `fmt`."""
    writer = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "xlsx": _XlsxWriter}[fmt]()
    for row in rows:
        writer.write(row)
    return writer.finish()
