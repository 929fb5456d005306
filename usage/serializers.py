from rest_framework import serializers

from api.date_parameters import date_parameter
from usage.models import RequestLogEntry
from usage.selectors import log_entry_id


class RequestLogEntrySerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField(
        help_text="The entry's own id (`log_…`, opaque): the list's cursor (`startingAfter`, `endingBefore`)."
    )
    requestId = serializers.CharField(source="request_id")
    keyId = serializers.CharField(source="api_key_id")
    statusCode = serializers.IntegerField(source="status_code")
    errorCode = serializers.SerializerMethodField()
    durationMs = serializers.IntegerField(source="duration_ms")
    clientAddress = serializers.IPAddressField(source="client_address", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = RequestLogEntry
        fields = [
            "id",
            "requestId",
            "keyId",
            "method",
            "route",
            "statusCode",
            "errorCode",
            "durationMs",
            "clientAddress",
            "createdAt",
        ]

    def get_id(self, entry) -> str:
        return log_entry_id(entry)

    def get_errorCode(self, entry) -> str | None:
        return entry.error_code or None


class UsageQuerySerializer(serializers.Serializer):
    """`from`/`to` as the one date parameter reading (api/date_parameters.py); `to` is exclusive."""

    granularity = serializers.ChoiceField(choices=["hour", "day"], default="day")
    keyId = serializers.CharField(required=False, max_length=40)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for name in ("from", "to"):
            value = date_parameter(data.get(name), field=name)
            if value is not None:
                values[name] = value
        return values


class _Totals(serializers.Serializer):
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    averageDurationMs = serializers.FloatField()
    creditsCharged = serializers.DecimalField(max_digits=14, decimal_places=2)
    creditsRefunded = serializers.DecimalField(max_digits=14, decimal_places=2)


class _Point(_Totals):
    start = serializers.DateTimeField()


class _Route(serializers.Serializer):
    method = serializers.CharField()
    route = serializers.CharField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    averageDurationMs = serializers.FloatField()


class _Key(serializers.Serializer):
    keyId = serializers.CharField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()


class _StatusClasses(serializers.Serializer):
    def get_fields(self):
        # "2xx" is not a Python name: the fields are declared here rather than as attributes.
        return {name: serializers.IntegerField() for name in ("2xx", "3xx", "4xx", "5xx")}


class UsageSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    keyId = serializers.CharField(allow_null=True)
    granularity = serializers.ChoiceField(choices=["hour", "day"])
    to = serializers.DateTimeField()
    totals = _Totals()
    series = _Point(many=True)
    byRoute = _Route(many=True)
    byStatusClass = _StatusClasses()
    byKey = _Key(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField()  # a Python keyword, so not declared as an attribute
        return fields


class UsageTotalsSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Responses with status 400 or above.")
    averageDurationMs = serializers.FloatField()


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()


class UsageEndpointSerializer(serializers.Serializer):
    method = serializers.CharField()
    route = serializers.CharField(help_text="URL template, e.g. /api/v1/customers/{externalId}.")
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    averageDurationMs = serializers.FloatField()


class UsageStatusClassSerializer(serializers.Serializer):
    _2xx = serializers.IntegerField()
    _3xx = serializers.IntegerField()
    _4xx = serializers.IntegerField()
    _5xx = serializers.IntegerField()

    def get_fields(self):
        # JSON names starting with a digit are not Python identifiers.
        return {name.lstrip("_"): field for name, field in super().get_fields().items()}


class ApiKeyUsageSerializer(serializers.Serializer):
    keyId = serializers.CharField()
    days = serializers.IntegerField()
    to = serializers.DateField()
    totals = UsageTotalsSerializer()
    byDay = UsageDaySerializer(many=True)
    byEndpoint = UsageEndpointSerializer(many=True)
    byStatusClass = UsageStatusClassSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(help_text="First day of the window (UTC).")
        return fields
