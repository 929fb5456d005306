"""Reading CSV (the csv module) and JSON Lines import files, a line at a time under the caps."""

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from api.parsers import json_loads
from customers.bulk.formats.reading import (
    CHUNK_BYTES,
    IGNORED_COLUMNS_SHOWN,
    ImportFileInvalid,
    ParsedFile,
    ReadCaps,
    cell_too_long,
    invalid_encoding,
    row_too_long,
    tabular,
    too_many,
    wrong_format,
)


def _text_lines(text: io.TextIOWrapper, caps: ReadCaps, lines_read: list[int]) -> Iterator[str]:
    """The file's physical lines, none longer than a row may be."""
    try:
        while line := text.readline(caps.max_line_chars + 1):
            lines_read[0] += 1
            if len(line) > caps.max_line_chars:
                raise row_too_long(lines_read[0], caps)
            yield line
    except UnicodeDecodeError:
        raise invalid_encoding(f"the text at or after line {lines_read[0] + 1}") from None


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
                raise cell_too_long(row_number, caps)
            yield row_number, cells
    except csv.Error as exc:
        raise ImportFileInvalid("WrongFormat", f"Row {row_number + 1} is not valid CSV: {exc}.") from None


def read_csv(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        return tabular(_csv_rows(text, caps), caps, "The file is empty")
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
                raise row_too_long(number + 1, caps)
        chunk = source.read(CHUNK_BYTES)
    if pending.strip():
        yield number + 1, _line_text(pending, number + 1, caps)


def _line_text(line: bytes, number: int, caps: ReadCaps) -> str:
    if len(line) > caps.max_line_chars:
        raise row_too_long(number, caps)
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_encoding(f"line {number}") from None


def read_jsonl(source: BinaryIO, caps: ReadCaps) -> ParsedFile:
    parsed = ParsedFile(tabular=False)
    ignored: dict[str, None] = {}
    first = True
    for number, line in _jsonl_lines(source, caps):
        if len(parsed.rows) >= caps.max_rows:
            raise too_many(caps.max_rows)
        try:
            value = json_loads(line)  # bounded: deep nesting is that line's error, not a crash
        except ValueError as exc:
            if first:
                raise wrong_format("jsonl", f"JSON Lines: line {number} is not JSON ({exc})") from None
            parsed.rows.append((number, f"The line is not valid JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            if first:
                raise wrong_format("jsonl", f"JSON Lines: line {number} is not a JSON object")
            parsed.rows.append((number, "The line must be a JSON object."))
            continue
        first = False
        for key in value:
            if key not in caps.fields and len(ignored) < IGNORED_COLUMNS_SHOWN:
                ignored[key[:100]] = None
        parsed.rows.append((number, {key: item for key, item in value.items() if key in caps.fields}))
    if first:
        raise wrong_format("jsonl", "JSON Lines: it holds no JSON object, one per line")
    parsed.ignored_columns = list(ignored)
    return parsed
