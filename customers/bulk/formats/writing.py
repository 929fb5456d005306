"""Writing export files (CSV, JSON Lines, XLSX); every spreadsheet cell is made inert
(api.spreadsheet_cells)."""

import io
import json
from collections.abc import Iterable

from api.spreadsheet_cells import cell_text, csv_writer
from customers.bulk.formats.reading import (
    EXPORT_COLUMNS,
)


class _CsvWriter:
    def __init__(self, columns: tuple[str, ...], sheet: str):
        self.columns = columns
        self.buffer = io.StringIO()
        self.writer = csv_writer(self.buffer)
        self.writer.writerow(columns)

    def write(self, row: dict) -> None:
        self.writer.writerow([cell_text(_text(row[name])) for name in self.columns])

    def finish(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


class _JsonlWriter:
    """JSON Lines is data, not a spreadsheet: values are written exactly as stored."""

    def __init__(self, columns: tuple[str, ...], sheet: str):
        self.lines: list[str] = []

    def write(self, row: dict) -> None:
        self.lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))

    def finish(self) -> bytes:
        return ("\n".join(self.lines) + ("\n" if self.lines else "")).encode("utf-8")


class _XlsxWriter:
    def __init__(self, columns: tuple[str, ...], sheet: str):
        import openpyxl
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.columns = columns
        self.illegal = ILLEGAL_CHARACTERS_RE
        self.workbook = openpyxl.Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(sheet)
        self.sheet.append(list(columns))

    def write(self, row: dict) -> None:
        # Control characters cannot be stored in the XML of a sheet; they become U+FFFD.
        self.sheet.append([cell_text(self.illegal.sub("\ufffd", _text(row[name]))) for name in self.columns])

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


def file_write(
    fmt: str, rows: Iterable[dict], *, columns: tuple[str, ...] = EXPORT_COLUMNS, sheet: str = "customers"
) -> bytes:
    """The export file of `rows` (dicts keyed by `columns`) in `fmt`; an XLSX's sheet is named `sheet`."""
    writer = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "xlsx": _XlsxWriter}[fmt](columns, sheet)
    for row in rows:
        writer.write(row)
    return writer.finish()
