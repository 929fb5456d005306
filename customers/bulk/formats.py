"""Reading import files and writing export files: CSV (the csv module), JSON Lines, XLSX.

Readers run in the bulk worker, never in a web request, and stream: a file is read a line or an XML element
at a time, under caps on rows, columns, cell length and (XLSX) members, inflated size, compression ratio and
shared strings, so a small hostile file is refused after a bounded amount of work and memory. They turn a
file into numbered rows of raw values, or raise `ImportFileInvalid` with a code a partner can act on
(WrongFormat, InvalidEncoding, MissingHeader, TooManyRows, TooManyColumns, CellTooLong, RowTooLong,
FileTooLarge); a problem with one row is that row's error, never the file's. XLSX is read with our own
streaming reader, not openpyxl's: openpyxl loads every shared string (and keeps a parsed element for each)
before the first row, even read-only, so a 43 KB workbook of 1.5 M empty strings cost 12.8 s and 211 MB.
Writers make every cell inert in spreadsheets (api.spreadsheet_cells).
"""

import codecs
import csv
import io
import json
import posixpath
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO
from xml.parsers import expat

from api.parsers import json_loads
from api.spreadsheet_cells import cell_text, csv_writer

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
# A workbook has a few dozen members; the central directory is read whole by zipfile, so its size is capped
# before zipfile reads it.
XLSX_MAX_MEMBERS = 10_000
# Members this small may compress as well as they like (Apache POI's ZipSecureFile grace size).
XLSX_RATIO_GRACE_BYTES = 100 * 1024


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
        raise _wrong_format("xlsx", "an XLSX workbook (it is not a zip archive)")
    if fmt != "xlsx" and head.startswith(ZIP_SIGNATURE):
        hint = "CSV text" if fmt == "csv" else "JSON Lines"
        raise _wrong_format(fmt, f"{hint} but a zip archive, perhaps an XLSX workbook")


def rows_read(source: BinaryIO, fmt: str, caps: ReadCaps) -> ParsedFile:
    """Every data row of the file (a seekable binary file), or ImportFileInvalid: nothing is applied
    before this succeeds."""
    signature_check(source.read(len(ZIP_SIGNATURE)), fmt)
    source.seek(0)
    if fmt == "csv":
        return _read_csv(source, caps)
    if fmt == "jsonl":
        return _read_jsonl(source, caps)
    return _read_xlsx(source, caps)


def _wrong_format(fmt: str, hint: str) -> ImportFileInvalid:
    return ImportFileInvalid("WrongFormat", f"The file is not {hint} ({fmt} was expected).")


def _invalid_encoding(where: str) -> ImportFileInvalid:
    return ImportFileInvalid(
        "InvalidEncoding",
        f"The file must be UTF-8 text; {where} is not valid UTF-8. "
        "Save it as 'CSV UTF-8' or convert it before importing.",
    )


def _too_many(max_rows: int) -> ImportFileInvalid:
    return ImportFileInvalid("TooManyRows", f"The file has more than {max_rows} data rows; split it.")


def _too_many_columns(caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid("TooManyColumns", f"The file has more than {caps.max_columns} columns.")


def _cell_too_long(row: int, caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid(
        "CellTooLong", f"Row {row} has a cell longer than {caps.max_cell_chars} characters."
    )


def _row_too_long(row: int, caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid(
        "RowTooLong",
        f"Line {row} is longer than {caps.max_line_chars} characters "
        f"({caps.max_columns} columns of {caps.max_cell_chars}).",
    )


def _header(names: list, caps: ReadCaps) -> tuple[dict[str, int], list[str]]:
    """{field: column index} of the known columns, and the names of the ignored ones."""
    if len(names) > caps.max_columns:
        raise _too_many_columns(caps)
    cleaned = ["" if name is None else str(name).strip() for name in names]
    if "externalId" not in cleaned:
        found = ", ".join(repr(name[:100]) for name in cleaned[:10] if name) or "nothing"
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


def _tabular(rows: Iterator[tuple[int, list]], caps: ReadCaps, empty: str) -> ParsedFile:
    """Header and data rows of a CSV file or a sheet: (row number, cells) of each row holding a value."""
    first = next(rows, None)
    if first is None:
        raise ImportFileInvalid("MissingHeader", f"{empty}: a header row is required.")
    header = first[1]
    columns, ignored = _header(header, caps)
    parsed = ParsedFile(ignored_columns=ignored[:IGNORED_COLUMNS_SHOWN])
    for row_number, cells in rows:
        if len(parsed.rows) >= caps.max_rows:
            raise _too_many(caps.max_rows)
        parsed.rows.append((row_number, _tabular_row(cells, columns, len(header))))
    return parsed


# --- CSV --------------------------------------------------------------------------------------------


def _text_lines(text: io.TextIOWrapper, caps: ReadCaps, lines_read: list[int]) -> Iterator[str]:
    """The file's physical lines, none longer than a row may be."""
    try:
        while line := text.readline(caps.max_line_chars + 1):
            lines_read[0] += 1
            if len(line) > caps.max_line_chars:
                raise _row_too_long(lines_read[0], caps)
            yield line
    except UnicodeDecodeError:
        raise _invalid_encoding(f"the text at or after line {lines_read[0] + 1}") from None


def _csv_rows(text: io.TextIOWrapper, caps: ReadCaps) -> Iterator[tuple[int, list]]:
    lines_read = [0]
    reader = csv.reader(_text_lines(text, caps, lines_read))
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if any(len(cell) > caps.max_cell_chars for cell in cells):
                raise _cell_too_long(row_number, caps)
            yield row_number, cells
    except csv.Error as exc:
        raise ImportFileInvalid("WrongFormat", f"Row {row_number + 1} is not valid CSV: {exc}.") from None


def _read_csv(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        return _tabular(_csv_rows(text, caps), caps, "The file is empty")
    finally:
        text.detach()  # the caller's file stays open (and is the caller's to close)


# --- JSON Lines ---------------------------------------------------------------------------------------


def _jsonl_lines(source: BinaryIO, caps: ReadCaps) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that is not blank. Runs of blank lines are counted a chunk at a
    time, so 50 MB of newlines cost milliseconds, not 50 M loop turns."""
    number, pending = 0, b""
    chunk = source.read(CHUNK_BYTES).removeprefix(codecs.BOM_UTF8)
    while chunk:
        if not pending and chunk.isspace():
            number += chunk.count(b"\n")
        else:
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                number += 1
                if line.strip():
                    yield number, _line_text(line, number, caps)
            if len(pending) > caps.max_line_chars:
                raise _row_too_long(number + 1, caps)
        chunk = source.read(CHUNK_BYTES)
    if pending.strip():
        yield number + 1, _line_text(pending, number + 1, caps)


def _line_text(line: bytes, number: int, caps: ReadCaps) -> str:
    if len(line) > caps.max_line_chars:
        raise _row_too_long(number, caps)
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_encoding(f"line {number}") from None


def _read_jsonl(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    parsed = ParsedFile(tabular=False)
    ignored: dict[str, None] = {}
    first = True
    for number, line in _jsonl_lines(source, caps):
        if len(parsed.rows) >= caps.max_rows:
            raise _too_many(caps.max_rows)
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
            if key not in FIELDS and len(ignored) < IGNORED_COLUMNS_SHOWN:
                ignored[key[:100]] = None
        parsed.rows.append((number, {key: item for key, item in value.items() if key in FIELDS}))
    if first:
        raise _wrong_format("jsonl", "JSON Lines: it holds no JSON object, one customer per line")
    parsed.ignored_columns = list(ignored)
    return parsed


# --- XLSX ---------------------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships "
_RELATIONSHIP_ID = "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"
_SHEET, _SHEET_DATA, _ROW, _CELL = (f"{_MAIN}{tag}" for tag in ("sheet", "sheetData", "row", "c"))
_STRING_ITEM, _VALUE, _TEXT, _PHONETIC = (f"{_MAIN}{tag}" for tag in ("si", "v", "t", "rPh"))
_RELATIONSHIP = f"{_PACKAGE}Relationship"


def _unreadable() -> ImportFileInvalid:
    return _wrong_format("xlsx", "a readable XLSX workbook")


def _inflates_too_much(caps: ReadCaps) -> ImportFileInvalid:
    return ImportFileInvalid(
        "FileTooLarge", f"The workbook inflates to more than {caps.max_inflated_bytes} bytes when unzipped."
    )


class _InflationBudget:
    """The bytes the workbook's members may still inflate to, counted as they are actually read (a member's
    declared size is the zip's word; zipfile stops at it, and this stops at the workbook's cap)."""

    def __init__(self, archive: zipfile.ZipFile, caps: ReadCaps):
        self.archive, self.caps, self.left = archive, caps, caps.max_inflated_bytes

    def open(self, name: str) -> "_CountedMember":
        try:
            return _CountedMember(self.archive.open(name), self)
        except KeyError:
            raise _unreadable() from None


class _CountedMember:
    def __init__(self, member, budget: _InflationBudget):
        self.member, self.budget = member, budget

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        data = self.member.read(size)
        self.budget.left -= len(data)
        if self.budget.left < 0:
            raise _inflates_too_much(self.budget.caps)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.member.close()


def _member_count(source: BinaryIO) -> int | None:
    """Entries in the zip's central directory, from its end record (None if there is none to read)."""
    source.seek(0, io.SEEK_END)
    size = source.tell()
    tail_size = min(size, 22 + 0xFFFF)  # the end record and the longest comment it may carry
    source.seek(size - tail_size)
    tail = source.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    source.seek(0)
    if at < 0 or len(tail) - at < 22:
        return None
    return struct.unpack_from("<H", tail, at + 10)[0]


def _archive_open(source: BinaryIO, caps: ReadCaps) -> zipfile.ZipFile:
    """The workbook's zip, once its members' declared sizes and compression ratios are within the caps."""
    members = _member_count(source)
    if members is not None and members > XLSX_MAX_MEMBERS:  # 0xFFFF: a zip64 count, never an XLSX's
        raise ImportFileInvalid("FileTooLarge", f"The workbook has more than {XLSX_MAX_MEMBERS} parts.")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise _unreadable() from None
    declared = 0
    for member in archive.infolist():
        declared += member.file_size
        if declared > caps.max_inflated_bytes:
            archive.close()
            raise _inflates_too_much(caps)
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_RATIO_GRACE_BYTES and ratio > caps.max_compression_ratio:
            archive.close()
            raise ImportFileInvalid(
                "FileTooLarge",
                f"A part of the workbook is compressed {ratio:.0f}:1, more than the "
                f"{caps.max_compression_ratio}:1 any spreadsheet writes (a zip bomb).",
            )
    return archive


class _PartEnd(Exception):
    """Raised by a handler that has read all it needs of a part."""


def _no_dtd(*args) -> None:
    raise _unreadable()  # no spreadsheet writes one; it is how entity-expansion bombs start


def _parse(member: _CountedMember, start, end, data=None) -> Iterator[None]:
    """Feed a part to expat a chunk at a time, yielding after each chunk: the handlers see one element at a
    time and nothing builds a tree, so memory stays flat whatever the part holds. A handler stops the read
    by raising (a cap, or _PartEnd once it has what it needs)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _no_dtd
    parser.StartElementHandler, parser.EndElementHandler = start, end
    if data is not None:
        parser.CharacterDataHandler = data
    try:
        while chunk := member.read(CHUNK_BYTES):
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
    except _PartEnd:
        pass
    except expat.ExpatError:
        raise _unreadable() from None
    yield


def _relationships(budget: _InflationBudget, part: str) -> dict[str, tuple[str, str]]:
    """{id: (type, part name)} of `part`'s relationships (an absent .rels file is none)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    found: dict[str, tuple[str, str]] = {}
    if rels not in budget.archive.NameToInfo:
        return found

    def start(name, attrs):
        if name == _RELATIONSHIP and len(found) < XLSX_MAX_MEMBERS:
            target = attrs.get("Target", "")
            resolved = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(resolved))

    with budget.open(rels) as member:
        for _ in _parse(member, start, lambda name: None):
            pass
    return found


def _workbook_parts(budget: _InflationBudget) -> tuple[str, str | None]:
    """(first worksheet, shared strings or None), found as Excel finds them: through the relationships."""
    workbook = next(
        (part for kind, part in _relationships(budget, "").values() if kind.endswith("/officeDocument")),
        "xl/workbook.xml",
    )
    related = _relationships(budget, workbook)
    sheets: list[str] = []

    def start(name, attrs):
        if name == _SHEET:
            kind, part = related.get(attrs.get(_RELATIONSHIP_ID, ""), ("", ""))
            if kind.endswith("/worksheet"):
                sheets.append(part)
                raise _PartEnd

    with budget.open(workbook) as member:
        for _ in _parse(member, start, lambda name: None):
            pass
    if not sheets:
        raise ImportFileInvalid("MissingHeader", "The workbook has no sheet.")
    strings = next((part for kind, part in related.values() if kind.endswith("/sharedStrings")), None)
    return sheets[0], strings


class _Text:
    """The text of one item (a shared string or a cell): its <t> and <v> runs joined, phonetic runs left
    out, refused past the cell cap as it arrives."""

    def __init__(self, caps: ReadCaps):
        self.caps, self.parts, self.size, self.reading, self.phonetic = caps, [], 0, False, 0

    def start(self, name: str) -> None:
        if name == _PHONETIC:
            self.phonetic += 1
        elif name in (_TEXT, _VALUE):
            self.reading = not self.phonetic

    def end(self, name: str) -> None:
        if name == _PHONETIC:
            self.phonetic -= 1
        elif name in (_TEXT, _VALUE):
            self.reading = False

    def data(self, text: str) -> None:
        if self.reading:
            self.size += len(text)
            if self.size > self.caps.max_cell_chars:
                raise ImportFileInvalid(
                    "CellTooLong",
                    f"The workbook holds a text longer than {self.caps.max_cell_chars} characters.",
                )
            self.parts.append(text)

    def take(self) -> str:
        value, self.parts, self.size = "".join(self.parts), [], 0
        return value


def _shared_strings(budget: _InflationBudget, part: str, caps: ReadCaps) -> list[str]:
    strings: list[str] = []
    text = _Text(caps)

    def end(name):
        if name == _STRING_ITEM:
            if len(strings) >= caps.max_shared_strings:
                raise ImportFileInvalid(
                    "FileTooLarge", f"The workbook holds more than {caps.max_shared_strings} shared strings."
                )
            strings.append(text.take())
        else:
            text.end(name)

    with budget.open(part) as member:
        for _ in _parse(member, lambda name, attrs: text.start(name), end, text.data):
            pass
    return strings


def _reference_column(reference: str | None, previous: int) -> int:
    """The column number of a cell reference such as "AB12" (the next column when it has none)."""
    letters = (reference or "").rstrip("0123456789")
    if not letters or len(letters) > 3 or not letters.isascii() or not letters.isalpha():
        return previous + 1
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _number(text: str):
    try:
        return float(text) if any(mark in text for mark in ".eE") else int(text)
    except ValueError:
        return text


def _cell_value(kind: str, text: str, strings: list[str]):
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            raise _unreadable() from None
    if kind == "b":
        return text.strip() == "1"
    if kind in ("inlineStr", "str", "e", "d"):
        return text
    return _number(text.strip())


class _SheetRows:
    """Expat handlers collecting (row number, cells) of each sheet row that holds a value."""

    def __init__(self, strings: list[str], caps: ReadCaps):
        self.strings, self.caps, self.text = strings, caps, _Text(caps)
        self.found: list[tuple[int, list]] = []
        self.row_number = self.column = 0
        self.kind = "n"
        self.values: dict[int, object] = {}

    def start(self, name: str, attrs: dict) -> None:
        if name == _CELL:
            self.column = _reference_column(attrs.get("r"), self.column)
            self.kind = attrs.get("t", "n")
            self.text.take()
        elif name == _ROW:
            reference = attrs.get("r", "")
            digits = reference.isascii() and reference.isdigit() and len(reference) < 10
            self.row_number = int(reference) if digits else self.row_number + 1
            self.values, self.column = {}, 0
        else:
            self.text.start(name)

    def end(self, name: str) -> None:
        if name == _CELL:
            raw = self.text.take()
            value = _cell_value(self.kind, raw, self.strings) if raw else None
            if value is None or value == "":
                return  # an empty or only styled cell, wherever it is
            if self.column > self.caps.max_columns:
                raise _too_many_columns(self.caps)
            self.values[self.column] = value
        elif name == _ROW:
            if self.values:
                cells = [self.values.get(index) for index in range(1, max(self.values) + 1)]
                self.found.append((self.row_number, cells))
        elif name == _SHEET_DATA:
            raise _PartEnd  # what follows the cells (merges, links, drawings) is not read
        else:
            self.text.end(name)


def _sheet_rows(budget: _InflationBudget, part: str, strings: list[str], caps: ReadCaps):
    """(row number, cells) of each row holding a value, a chunk of the part at a time."""
    rows = _SheetRows(strings, caps)
    with budget.open(part) as member:
        for _ in _parse(member, rows.start, rows.end, rows.text.data):
            yield from rows.found
            rows.found.clear()


def _read_xlsx(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    with _archive_open(source, caps) as archive:
        budget = _InflationBudget(archive, caps)
        try:
            sheet, strings_part = _workbook_parts(budget)
            strings = _shared_strings(budget, strings_part, caps) if strings_part else []
            rows = _sheet_rows(budget, sheet, strings, caps)
            try:
                return _tabular(rows, caps, "The first sheet is empty")
            finally:
                rows.close()  # a refused file stops here, its member closed before the archive is
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError):
            # a corrupt member (CRC, truncated), an unsupported compression, an encrypted member
            raise _unreadable() from None


# --- Writing ----------------------------------------------------------------------------------------


class _CsvWriter:
    def __init__(self):
        self.buffer = io.StringIO()
        self.writer = csv_writer(self.buffer)
        self.writer.writerow(EXPORT_COLUMNS)

    def write(self, row: dict) -> None:
        self.writer.writerow([cell_text(_text(row[name])) for name in EXPORT_COLUMNS])

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
            [cell_text(self.illegal.sub("\ufffd", _text(row[name]))) for name in EXPORT_COLUMNS]
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
