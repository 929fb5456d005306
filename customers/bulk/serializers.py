"""Request and response shapes of `/v1/customers/imports` and `/v1/customers/exports`.

Responses are built by customers.bulk.representation (shared with the `customers.imported` webhook); the
declared fields here are their schema.
"""

from django.utils import timezone
from rest_framework import serializers

from api.date_parameters import DateTimeParameterField
from customers.bulk import formats
from customers.bulk.representation import export_representation, import_representation

FORMAT_HELP = "csv, jsonl (JSON Lines) or xlsx (first sheet)."


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False,
        allow_empty_file=False,
        use_url=False,
        help_text=(
            "The file (multipart). CSV/XLSX: a header row naming externalId and optionally email, name, "
            "metadata (a JSON object as text); JSON Lines: one customer object per line."
        ),
    )
    url = serializers.CharField(
        required=False,
        max_length=2048,
        help_text=(
            "Instead of a file: a public https URL the worker downloads the file from (looked up and "
            "fetched by the worker; a URL it cannot fetch fails the job with FetchFailed)."
        ),
    )
    format = serializers.ChoiceField(
        choices=formats.FORMATS, required=False, help_text=FORMAT_HELP + " Default: from the file name."
    )

    def validate(self, attrs):
        if ("file" in attrs) == ("url" in attrs):
            raise serializers.ValidationError(
                {"file": ["Send either a file (multipart) or a url, not both."]}
            )
        return attrs


class _ImportCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="Data rows in the file; null until read.")
    processed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Rows whose customer already held exactly these values.")
    failed = serializers.IntegerField(help_text="Rows not applied; see the errors list.")


class _JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=(
            "WrongFormat, InvalidEncoding, MissingHeader, TooManyRows, TooManyColumns, CellTooLong, "
            "RowTooLong, FileTooLarge or FetchFailed (one message whatever the URL's failure was)."
        )
    )
    message = serializers.CharField()


STATUS_CHOICES = ["queued", "processing", "completed", "failed"]


class CustomerImportSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="imp_...")
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    format = serializers.ChoiceField(choices=formats.FORMATS)
    fileName = serializers.CharField(allow_null=True)
    sourceUrl = serializers.CharField(allow_null=True, help_text="The URL imported from, without its query.")
    progress = serializers.IntegerField(help_text="0-100; 100 once completed.")
    counts = _ImportCountsSerializer()
    ignoredColumns = serializers.ListField(child=serializers.CharField())
    error = _JobErrorSerializer(allow_null=True, help_text="Why the whole file was refused (status failed).")
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    completedAt = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        return import_representation(instance)


class CustomerImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="Row in the file (CSV/XLSX: the header is row 1) or JSON Lines line."
    )
    field = serializers.CharField(allow_null=True, help_text="The field at fault, or null for the whole row.")
    message = serializers.CharField()

    def to_representation(self, instance):
        return {"row": instance.row, "field": instance.field or None, "message": instance.message}


class ExportFiltersSerializer(serializers.Serializer):
    createdAfter = DateTimeParameterField(required=False)
    createdBefore = DateTimeParameterField(required=False)
    updatedAfter = DateTimeParameterField(required=False)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        # Not strftime: "%Y" leaves years before 1000 unpadded ("330-04-12T..."), which is no date-time.
        return {
            name: value.isoformat(timespec="microseconds").replace("+00:00", "Z")
            for name, value in values.items()
        }


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=formats.FORMATS, help_text=FORMAT_HELP)
    filters = ExportFiltersSerializer(required=False)


class _ExportCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True)
    processed = serializers.IntegerField()


class CustomerExportSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="exp_...")
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    format = serializers.ChoiceField(choices=formats.FORMATS)
    filters = ExportFiltersSerializer()
    progress = serializers.IntegerField()
    counts = _ExportCountsSerializer()
    fileUrl = serializers.URLField(
        allow_null=True, help_text="Signed URL of the file once completed; it expires (fileUrlExpiresAt)."
    )
    fileUrlExpiresAt = serializers.DateTimeField(allow_null=True)
    fileExpiresAt = serializers.DateTimeField(allow_null=True, help_text="When the file itself is erased.")
    error = _JobErrorSerializer(allow_null=True)
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    completedAt = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        return export_representation(instance, now=timezone.now())
