"""The ledger as CSV or XLSX, for any filtered range: rows are read in chunks and written out as they come,
so an export of millions of rows holds one chunk in memory (CSV streams to the client; XLSX is built by
openpyxl's write-only workbook in a temporary file, then streamed from disk). Text cells are made inert in
spreadsheets and CSV cells are all quoted (api.spreadsheet_cells): organization names and descriptions
are partner- and staff-written."""

import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from api.spreadsheet_cells import cell_text, csv_writer
from organizations.models import CreditLedgerEntry

HEADER = [
    "id",
    "createdAt",
    "organizationId",
    "organizationName",
    "kind",
    "amount",
    "balanceAfter",
    "reference",
    "description",
    "actor",
]
CHUNK = 2000


def _actor(entry: CreditLedgerEntry, staff_as: str | None) -> str:
    if not entry.actor_id:
        return ""
    if staff_as is not None and entry.actor.is_staff:
        return staff_as  # a partner's export says our staff acted, never which of us
    return cell_text(entry.actor.get_username())


def ledger_rows(entries: QuerySet[CreditLedgerEntry], *, staff_as: str | None = None) -> Iterator[list]:
    """`entries` as export rows, newest first; `staff_as` names our staff's entries in a partner's export."""
    entries = entries.select_related("organization", "actor").order_by("-created_at", "-id")
    for entry in entries.iterator(chunk_size=CHUNK):
        yield [
            entry.pk,
            entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            entry.organization_id,
            cell_text(entry.organization.name),
            entry.kind,
            entry.amount,
            entry.balance_after,
            cell_text(entry.reference),
            cell_text(entry.description),
            _actor(entry, staff_as),
        ]


class _Echo:
    def write(self, value):
        return value


def _csv_lines(rows: Iterable[list]) -> Iterator[str]:
    writer = csv_writer(_Echo())
    yield writer.writerow(HEADER)
    for row in rows:
        yield writer.writerow(row)


def _filename(extension: str, label: str = "") -> str:
    return f"garmax-ledger{label}-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


def ledger_csv_response(
    entries: QuerySet[CreditLedgerEntry], *, staff_as: str | None = None, label: str = ""
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(ledger_rows(entries, staff_as=staff_as)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv", label)}"'
    return response


def ledger_xlsx_response(entries: QuerySet[CreditLedgerEntry]) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Ledger")
    sheet.append(HEADER)
    for row in ledger_rows(entries):
        sheet.append(row)
    # Deleted when the response closes it; the workbook is on disk, not in memory.
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
