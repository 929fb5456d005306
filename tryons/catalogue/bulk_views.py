"""Garment imports and exports: the customers' bulk job routes (customers.bulk.views) for the catalogue, under
/v1/garments, with the catalogue's scopes and the garment columns."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

from apikeys import scopes
from customers.bulk.serializers import CustomerExportSerializer as ExportSerializer
from customers.bulk.serializers import CustomerImportSerializer as ImportSerializer
from customers.bulk.serializers import ImportCreateSerializer
from customers.bulk.views import EXPORT_EXAMPLE, IMPORT_EXAMPLE, CustomerExportViewSet, CustomerImportViewSet
from tryons.catalogue.bulk import EXPORT_COLUMNS, FIELDS, GARMENTS

_IMPORT_EXAMPLE = OpenApiExample(
    "Queued import",
    response_only=True,
    status_codes=["202"],
    value={**IMPORT_EXAMPLE.value, "fileName": "garments.csv"},
)


@extend_schema_view(
    create=extend_schema(
        summary="Import garments from a file",
        description=(
            f'Multipart `file` (with optional `format`), or JSON `{{"url": "https://...", "format": ...}}` '
            "for a file the worker downloads (public https only): CSV, JSON Lines or XLSX with the columns "
            f"{', '.join(FIELDS)} (productId required in the header; metadata a JSON object). Every row is "
            "upserted by productId + variantId exactly like `POST /v1/garments` (imageUrl and category "
            "required; rows already holding the given values are `unchanged`); each garment created or "
            "given a new imageUrl is then fetched by the worker (garment.ready / garment.failed). The same "
            "caps, refusals and error codes as customer imports (CUSTOMER_IMPORT_* settings), and a bad row "
            "never stops the others (see `/errors`). Subscribe to `garments.imported` or poll the job."
        ),
        request={"multipart/form-data": ImportCreateSerializer, "application/json": ImportCreateSerializer},
        responses={202: ImportSerializer, 413: None},
        examples=[_IMPORT_EXAMPLE],
    ),
    list=extend_schema(summary="List garment imports, newest first"),
    retrieve=extend_schema(summary="Get a garment import"),
    errors=extend_schema(summary="List a garment import's row errors, in row order"),
)
@extend_schema(tags=["Garment imports"])
class GarmentImportViewSet(CustomerImportViewSet):
    operation_resource = "garment-imports"
    required_scopes = {name: scopes.GARMENTS_WRITE for name in ("create", "list", "retrieve", "errors")}
    bulk_resource = GARMENTS


@extend_schema_view(
    create=extend_schema(
        summary="Export the garment catalogue to a file",
        description=(
            f"Writes every garment of the organization (optionally filtered by creation or update time) as "
            f"CSV, JSON Lines or XLSX with the columns {', '.join(EXPORT_COLUMNS)}: a file an import takes "
            "back as it is. Cells are made inert for spreadsheets as in customer exports; `fileUrl` is a "
            "signed URL once completed, and the file is erased after CUSTOMER_EXPORT_RETENTION_HOURS."
        ),
        responses={202: ExportSerializer},
        examples=[EXPORT_EXAMPLE],
    ),
    list=extend_schema(summary="List garment exports, newest first"),
    retrieve=extend_schema(summary="Get a garment export (with its file's signed URL once completed)"),
)
@extend_schema(tags=["Garment exports"])
class GarmentExportViewSet(CustomerExportViewSet):
    operation_resource = "garment-exports"
    required_scopes = {name: scopes.GARMENTS_READ for name in ("create", "list", "retrieve")}
    bulk_resource = GARMENTS
