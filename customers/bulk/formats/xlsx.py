"""Reading XLSX import files with our own streaming reader, not openpyxl's: openpyxl loads every shared
string (and keeps a parsed element for each) before the first row, even read-only, so a 43 KB workbook of
1.5 M empty strings cost 12.8 s and 211 MB. Members, inflated size, compression ratio and shared strings
are capped, and no DTD is read.
"""

import io
import posixpath
import struct
import zipfile
from collections.abc import Iterator
from typing import BinaryIO
from xml.parsers import expat

from customers.bulk.formats.reading import (
    CHUNK_BYTES,
    ImportFileInvalid,
    ParsedFile,
    ReadCaps,
    tabular,
    too_many_columns,
    wrong_format,
)

# A workbook has a few dozen members; the central directory is read whole by zipfile, so its size is capped
# before zipfile reads it.
XLSX_MAX_MEMBERS = 10_000
# Members this small may compress as well as they like (Apache POI's ZipSecureFile grace size).
XLSX_RATIO_GRACE_BYTES = 100 * 1024
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships "
_RELATIONSHIP_ID = "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"
_SHEET, _SHEET_DATA, _ROW, _CELL = (f"{_MAIN}{tag}" for tag in ("sheet", "sheetData", "row", "c"))
_STRING_ITEM, _VALUE, _TEXT, _PHONETIC = (f"{_MAIN}{tag}" for tag in ("si", "v", "t", "rPh"))
_RELATIONSHIP = f"{_PACKAGE}Relationship"


def _unreadable() -> ImportFileInvalid:
    return wrong_format("xlsx", "a readable XLSX workbook")


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
                raise too_many_columns(self.caps)
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


def read_xlsx(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    with _archive_open(source, caps) as archive:
        budget = _InflationBudget(archive, caps)
        try:
            sheet, strings_part = _workbook_parts(budget)
            strings = _shared_strings(budget, strings_part, caps) if strings_part else []
            rows = _sheet_rows(budget, sheet, strings, caps)
            try:
                return tabular(rows, caps, "The first sheet is empty")
            finally:
                rows.close()  # a refused file stops here, its member closed before the archive is
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError):
            # a corrupt member (CRC, truncated), an unsupported compression, an encrypted member
            raise _unreadable() from None
