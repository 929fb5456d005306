from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.parsers import JSONParser, multipart_parse_bounded
from apikeys.partner import PartnerAPIMixin
from apikeys.scopes import CUSTOMERS_CREATE, CUSTOMERS_READ
from customers import selectors
from customers.bulk import exports, imports, resources
from customers.bulk import settings as limits
from customers.bulk.serializers import (
    CustomerExportSerializer,
    CustomerImportErrorSerializer,
    CustomerImportSerializer,
    ExportCreateSerializer,
    ImportCreateSerializer,
)
from customers.models import CustomerExport, CustomerImport

IMPORT_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The import's id (imp_...).")
EXPORT_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The export's id (exp_...).")

IMPORT_EXAMPLE = OpenApiExample(
    "Queued import",
    response_only=True,
    status_codes=["202"],
    value={
        "id": "imp_4fQx9LmZ2aBcDeFgHiJkLm",
        "status": "queued",
        "format": "csv",
        "fileName": "customers.csv",
        "sourceUrl": None,
        "progress": 0,
        "counts": {"total": None, "processed": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0},
        "ignoredColumns": [],
        "error": None,
        "createdAt": "2025-12-11T10:00:00Z",
        "startedAt": None,
        "completedAt": None,
    },
)
EXPORT_EXAMPLE = OpenApiExample(
    "Completed export",
    response_only=True,
    status_codes=["200"],
    value={
        "id": "exp_7kLm2NpQ4rStUvWxYzAbCd",
        "status": "completed",
        "format": "csv",
        "filters": {"createdAfter": "2025-01-01T00:00:00.000000Z"},
        "progress": 100,
        "counts": {"total": 1200, "processed": 1200},
        "fileUrl": "https://bucket.s3.amazonaws.com/enterprise/org-org_abc/exports/exp_7kLm.csv?X-Amz-Signature=...",
        "fileUrlExpiresAt": "2025-12-11T11:05:00Z",
        "fileExpiresAt": "2025-12-12T10:05:00Z",
        "error": None,
        "createdAt": "2025-12-11T10:04:58Z",
        "startedAt": "2025-12-11T10:04:59Z",
        "completedAt": "2025-12-11T10:05:00Z",
    },
)


@extend_schema(tags=["Customer imports"])
class CustomerImportViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """Bulk upserts of customers from a CSV, JSON Lines or XLSX file, run in the background."""

    operation_resource = "customer-imports"

    # Importing writes customers; its status and row errors belong to whoever may write them.
    required_scopes = {name: CUSTOMERS_CREATE for name in ("create", "list", "retrieve", "errors")}
    serializer_class = CustomerImportSerializer
    queryset = CustomerImport.objects.none()
    parser_classes = [JSONParser, MultiPartParser]
    bulk_resource = resources.CUSTOMERS  # what the files hold (customers.bulk.resources)

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action == "create":  # after key and scope, before anything (idempotency too) reads the body
            multipart_parse_bounded(request, max_file_bytes=limits.IMPORT_MAX_BYTES, what="Import files")

    @extend_schema(
        summary="Import customers from a file",
        description=(
            'Multipart `file` (with optional `format`), or JSON `{"url": "https://...", "format": ...}` '
            "for a file the worker downloads (public https only). Every row is upserted by externalId "
            "exactly like `POST /v1/customers`: fields left out (or empty cells) keep their values, "
            "`metadata` replaces the stored object, rows already holding the given values are left "
            "untouched (`unchanged`), so importing the same file twice changes nothing the second time. "
            "A bad row never stops the others (see `/errors`).\n\n"
            "This request only stores the file (or records the URL) and answers 202 with the job, `queued`; "
            "the worker reads it. Refused at once: no format named or implied by the file name (400), "
            "over CUSTOMER_IMPORT_MAX_BYTES (default 50 MB; 413), an empty file, and a file whose first "
            "bytes are not its format (an .xlsx that is not a zip, a CSV or JSON Lines file that is one: "
            "400 `fileError` WrongFormat), and a URL that is not https, carries credentials or names a "
            "private address or local host literally. Everything else fails the job as a whole, before any "
            "row is applied, with `error.code`: WrongFormat, InvalidEncoding (not UTF-8), MissingHeader, "
            "TooManyRows (CUSTOMER_IMPORT_MAX_ROWS, default 100,000), TooManyColumns "
            "(CUSTOMER_IMPORT_MAX_COLUMNS, default 100), CellTooLong (CUSTOMER_IMPORT_MAX_CELL_CHARS, "
            "default 32,767), RowTooLong (a line longer than that many cells could be), FileTooLarge (also "
            "an XLSX inflating past CUSTOMER_IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES, compressed more than "
            "CUSTOMER_IMPORT_MAX_XLSX_COMPRESSION_RATIO:1 or holding more than "
            "CUSTOMER_IMPORT_MAX_XLSX_SHARED_STRINGS strings) or FetchFailed: one message for every URL "
            "that could not be fetched (does not resolve, resolves to a private address, refused, not 200, "
            "slower than CUSTOMER_IMPORT_FETCH_TIMEOUT_SECONDS). Poll the job or subscribe to "
            "`customers.imported`."
        ),
        request={"multipart/form-data": ImportCreateSerializer, "application/json": ImportCreateSerializer},
        responses={202: CustomerImportSerializer, 413: None},
        examples=[IMPORT_EXAMPLE],
    )
    def create(self, request):
        serializer = ImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = imports.customer_import_create(
            organization_id=self.organization_id,
            upload=data.get("file"),
            url=data.get("url"),
            fmt=data.get("format"),
            resource=self.bulk_resource,
        )
        return Response(CustomerImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="List imports, newest first", responses={200: CustomerImportSerializer(many=True)})
    def list(self, request):
        jobs = selectors.organization_imports(
            organization_id=self.organization_id, resource=self.bulk_resource
        )
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(CustomerImportSerializer(page, many=True).data)

    @extend_schema(summary="Get an import", parameters=[IMPORT_ID], responses={200: CustomerImportSerializer})
    def retrieve(self, request, id=None):
        job = imports.customer_import_get(
            organization_id=self.organization_id, import_id=id, resource=self.bulk_resource
        )
        return Response(CustomerImportSerializer(job).data)

    @extend_schema(
        summary="List an import's row errors, in row order",
        parameters=[IMPORT_ID],
        responses={200: CustomerImportErrorSerializer(many=True)},
    )
    @action(detail=True)
    def errors(self, request, id=None):
        rows = imports.import_errors(
            organization_id=self.organization_id, import_id=id, resource=self.bulk_resource
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CustomerImportErrorSerializer(page, many=True).data)


@extend_schema(tags=["Customer exports"])
class CustomerExportViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """The organization's customers as a downloadable file, written in the background."""

    operation_resource = "customer-exports"

    required_scopes = {name: CUSTOMERS_READ for name in ("create", "list", "retrieve")}
    serializer_class = CustomerExportSerializer
    queryset = CustomerExport.objects.none()
    bulk_resource = resources.CUSTOMERS

    @extend_schema(
        summary="Export customers to a file",
        description=(
            "Writes every customer of the organization (optionally filtered by creation or update time) as "
            "CSV, JSON Lines or XLSX, with the latest photo's key (`latestPhotoS3Key`), never the photo. "
            "Every CSV cell is quoted, and in CSV and XLSX a `'` goes before `=`, `+`, `-`, `@`, a tab or "
            "a carriage return at the start of a value and after any `,`, `;`, tab or line break in it "
            "(OWASP's CSV injection rule), so no spreadsheet runs a value as a formula, whatever its list "
            "separator. JSON Lines keeps values as stored. When completed, `fileUrl` is a "
            "signed URL that expires; the file itself is erased after CUSTOMER_EXPORT_RETENTION_HOURS "
            "(default 24)."
        ),
        request=ExportCreateSerializer,
        responses={202: CustomerExportSerializer},
        examples=[EXPORT_EXAMPLE],
    )
    def create(self, request):
        serializer = ExportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = exports.customer_export_create(
            organization_id=self.organization_id,
            fmt=data["format"],
            filters=data.get("filters", {}),
            resource=self.bulk_resource,
        )
        return Response(CustomerExportSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="List exports, newest first", responses={200: CustomerExportSerializer(many=True)})
    def list(self, request):
        jobs = selectors.organization_exports(
            organization_id=self.organization_id, resource=self.bulk_resource
        )
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(CustomerExportSerializer(page, many=True).data)

    @extend_schema(
        summary="Get an export (with its file's signed URL once completed)",
        parameters=[EXPORT_ID],
        responses={200: CustomerExportSerializer},
        examples=[EXPORT_EXAMPLE],
    )
    def retrieve(self, request, id=None):
        job = exports.customer_export_get(
            organization_id=self.organization_id, export_id=id, resource=self.bulk_resource
        )
        return Response(CustomerExportSerializer(job).data)
