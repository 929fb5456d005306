"""Usage analytics and the request log of an organization: for its members (JWT) and its API keys holding
`usage:read` (another organization's id is a 404 for both); one API key's usage, for members (JWT)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication

from api.date_parameters import date_openapi_parameter
from api.errors import ResourceNotFound, ValidationError
from api.request_context import REQUEST_ID_MAX_LENGTH
from api.schema import ErrorSerializer
from api.timestamps import timestamp_text
from apikeys.admission import ApiKeyPrincipal
from apikeys.authentication import ApiKeyAuthentication
from apikeys.models import ApiKey
from apikeys.partner import PartnerAPIMixin
from apikeys.permissions import RequiresScope
from apikeys.scopes import USAGE_READ
from apikeys.selectors import organization_api_key
from apikeys.user_rate_limit import UserRateLimit
from organizations.access import organization_for_user
from organizations.partner_ids import partner_organization_id
from organizations.selectors import sandbox_live_id
from usage import selectors
from usage import settings as usage_settings
from usage.serializers import (
    ApiKeyUsageSerializer,
    RequestLogEntrySerializer,
    UsageQuerySerializer,
    UsageSerializer,
)

# Buckets one usage response may hold: a month of hours, or a year and a bit of days (the rollups' life).
MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=400)}
DEFAULT_SPAN = {"hour": timedelta(hours=24), "day": timedelta(days=30)}
# One key's usage: a window of whole days, today included.
USAGE_DEFAULT_DAYS = 7
USAGE_MAX_DAYS = 90

ORGANIZATION_ID = OpenApiParameter("organization_id", str, OpenApiParameter.PATH, description="`org_…`")
RATE_LIMITED = OpenApiResponse(ErrorSerializer, description="RateLimitExceeded (API keys): see Retry-After.")


LOG_ENTRY_EXAMPLE = OpenApiExample(
    "A failed request",
    response_only=True,
    value={
        "id": "log_AAYJ8ZQvXcAAAAAAAAAAKg",
        "requestId": "req_9b1d4c0e8f7a4a55",
        "keyId": "key_8Hq1",
        "method": "POST",
        "route": "/api/v1/cart-tryons",
        "statusCode": 403,
        "errorCode": "InsufficientCredits",
        "durationMs": 12,
        "clientAddress": "203.0.113.7",
        "createdAt": "2026-11-24T15:04:05Z",
    },
)


class MembersOrUsageKeys(RequiresScope):
    """A signed-in user (membership is checked against the organization in the view) or an API key with
    `usage:read`; an API key without it gets InvalidScope."""

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiKeyPrincipal):
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated)


class OrganizationUsageViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    operation_resource = "usage"
    # The key first: a request carrying X-API-Key is a partner call (rate limited, recorded in the log).
    authentication_classes = [ApiKeyAuthentication, JWTAuthentication]
    permission_classes = [MembersOrUsageKeys]
    required_scopes = {"usage": USAGE_READ, "logs": USAGE_READ, "log_entry": USAGE_READ}
    serializer_class = RequestLogEntrySerializer
    # `cursor` is accepted as another name for `startingAfter`; both read cursor_lookup.
    cursor_aliases = ("cursor",)

    def _organization_id(self) -> str:
        wanted = self.kwargs["organization_id"]
        principal = self.request.auth
        if isinstance(principal, ApiKeyPrincipal):
            # Partners name their organization by its live id in both modes (GET /v1/account says so); a
            # test key reads its sandbox's usage and log, never the live ones.
            acting = principal.organization_id
            named = acting if principal.livemode else sandbox_live_id(organization_id=acting)
            if wanted != named:
                raise ResourceNotFound(f"Organization {wanted} not found.")
            return acting
        return organization_for_user(user=self.request.user, organization_id=wanted).pk

    def check_throttles(self, request):
        """A key is counted as it is authenticated (PartnerAPIMixin); a signed-in user is counted here."""
        if not isinstance(request.auth, ApiKeyPrincipal):
            UserRateLimit().allow_request(request, self)

    def cursor_lookup(self, value: str) -> dict | None:
        """A cursor is an entry's `id` (`log_…`), or, as before, a `requestId` that names one entry: a
        retried request repeats its id, and such an id names no single place in the log."""
        lookup = selectors.log_entry_lookup(value)
        if lookup is not None or len(value) > REQUEST_ID_MAX_LENGTH:
            return lookup
        if selectors.request_id_entries(organization_id=self._organization_id(), request_id=value) > 1:
            message = (
                f"Request id {value} names several entries (a retried request): page with an entry's `id`."
            )
            raise ValidationError(message, details={"startingAfter": [message]})
        return {"request_id": value}

    def _span(self, values: dict, granularity: str):
        """[start, end) of a usage read: inside the rollups' retention (a 400 naming the window for an
        explicit `from` before it; a default `from` is moved up to it), at most MAX_SPAN long."""
        earliest = selectors.usage_earliest(granularity)
        window = (
            f"Usage is kept for {usage_settings.ROLLUP_RETENTION_DAYS} days (USAGE_ROLLUP_RETENTION_DAYS): "
            f"the earliest `from` at {granularity} granularity is {timestamp_text(earliest)}."
        )
        if values.get("from") is not None and values["from"] < earliest:
            raise ValidationError(window, details={"from": [window]})
        end = values.get("to") or timezone.now()
        if end <= earliest:
            raise ValidationError(window, details={"to": [window]})
        start = values.get("from") or max(end - DEFAULT_SPAN[granularity], earliest)
        start = selectors.bucket_start(start, granularity)
        if end <= start:
            raise ValidationError(details={"to": ["Must be after `from`."]})
        if end - start > MAX_SPAN[granularity]:
            raise ValidationError(
                details={"from": [f"At most {MAX_SPAN[granularity].days} days at {granularity} granularity."]}
            )
        return start, end

    @extend_schema(
        tags=["Usage and logs"],
        summary="Usage: totals, a time series and breakdowns by route, status class and key",
        description=(
            "Read from hourly rollups, so it costs the same at any traffic. Counts lag live traffic by a "
            "few seconds (the usage flush). `from` (inclusive, rounded down to its bucket) and `to` "
            "(exclusive) are ISO-8601 UTC; defaults: the last 30 days by day, or the last 24 hours by "
            "hour; at most 400 days by day and 31 days by hour. Credits are the organization's "
            "(charges and refunds of the period), also when `keyId` narrows the request counts."
        ),
        parameters=[
            ORGANIZATION_ID,
            date_openapi_parameter(
                "from",
                "Start, inclusive, rounded down to its bucket; not before the retention window "
                "(USAGE_ROLLUP_RETENTION_DAYS, default 400 days). Default: `to` less 30 days (by day) or 24 "
                "hours (by hour).",
            ),
            date_openapi_parameter("to", "End, exclusive. Default: now."),
            OpenApiParameter("granularity", str, enum=["hour", "day"], description="Default `day`."),
            OpenApiParameter("keyId", str, description="Only this key's requests (`key_…`)."),
        ],
        responses={200: UsageSerializer, 429: RATE_LIMITED},
        examples=[
            OpenApiExample(
                "30 days by day",
                response_only=True,
                value={
                    "organizationId": "org_4fQ2x9",
                    "keyId": None,
                    "granularity": "day",
                    "from": "2026-10-26T00:00:00Z",
                    "to": "2026-11-25T00:00:00Z",
                    "totals": {
                        "requests": 120500,
                        "errors": 310,
                        "averageDurationMs": 41.2,
                        "creditsCharged": 5320.0,
                        "creditsRefunded": 12.0,
                    },
                    "series": [
                        {
                            "start": "2026-10-26T00:00:00Z",
                            "requests": 4012,
                            "errors": 9,
                            "averageDurationMs": 40.8,
                            "creditsCharged": 180.0,
                            "creditsRefunded": 0.0,
                        }
                    ],
                    "byRoute": [
                        {
                            "method": "POST",
                            "route": "/api/v1/cart-tryons",
                            "requests": 5200,
                            "errors": 40,
                            "averageDurationMs": 88.5,
                        }
                    ],
                    "byStatusClass": {"2xx": 120190, "3xx": 0, "4xx": 300, "5xx": 10},
                    "byKey": [{"keyId": "key_8Hq1", "requests": 120500, "errors": 310}],
                },
            )
        ],
    )
    def usage(self, request, organization_id=None):
        organization_id = self._organization_id()
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        granularity = query.validated_data["granularity"]
        start, end = self._span(query.validated_data, granularity)
        summary = selectors.usage_summary(
            organization_id=organization_id,
            start=start,
            end=end,
            granularity=granularity,
            api_key_id=query.validated_data.get("keyId"),
        )
        # A test key reads its sandbox's usage, under the live id partners know.
        summary["organizationId"] = partner_organization_id(organization_id)
        return Response(UsageSerializer(summary).data)

    @extend_schema(
        tags=["Usage and logs"],
        summary="Request log, newest first",
        description=(
            "Every partner API request, recorded a few seconds after it is answered and kept for "
            "API_USAGE_RETENTION_DAYS (default 90). Page on with `startingAfter` (or `cursor`) = the last "
            "entry's `id`; a `requestId` is still taken where it names one entry (a retry repeats it)."
        ),
        parameters=[
            ORGANIZATION_ID,
            OpenApiParameter("status", str, description="A status (`404`) or a class (`4xx`)."),
            OpenApiParameter("keyId", str, description="Only this key's requests."),
            OpenApiParameter(
                "route", str, description="A route template, e.g. `/api/v1/customers/{externalId}`."
            ),
            date_openapi_parameter("from", "From this time, inclusive."),
            date_openapi_parameter("to", "Before this time, exclusive."),
            OpenApiParameter(
                "cursor", str, description="Same as `startingAfter`: an entry's `id` (`log_…`) from the log."
            ),
        ],
        responses={200: RequestLogEntrySerializer(many=True), 429: RATE_LIMITED},
        examples=[LOG_ENTRY_EXAMPLE],
    )
    def logs(self, request, organization_id=None):
        organization_id = self._organization_id()
        params = request.query_params
        status = params.get("status") or None
        if status and selectors.status_filter(status) is None:
            raise ValidationError(details={"status": ["A status code (e.g. 404) or a class (e.g. 4xx)."]})
        times = UsageQuerySerializer(data=params)
        times.is_valid(raise_exception=True)
        entries = selectors.request_log_list(
            organization_id=organization_id,
            status=status,
            api_key_id=params.get("keyId") or None,
            route=params.get("route") or None,
            start=times.validated_data.get("from"),
            end=times.validated_data.get("to"),
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(RequestLogEntrySerializer(page, many=True).data)

    @extend_schema(
        tags=["Usage and logs"],
        summary="One request log entry, by the requestId a response carried",
        description="Every response carries `X-Request-Id`, and every error body `requestId`.",
        parameters=[ORGANIZATION_ID, OpenApiParameter("request_id", str, OpenApiParameter.PATH)],
        responses={200: RequestLogEntrySerializer, 429: RATE_LIMITED},
        examples=[LOG_ENTRY_EXAMPLE],
    )
    def log_entry(self, request, organization_id=None, request_id=None):
        entry = selectors.request_log_entry(organization_id=self._organization_id(), request_id=request_id)
        return Response(RequestLogEntrySerializer(entry).data)


@extend_schema(tags=["API keys"])
class ApiKeyUsageViewSet(viewsets.GenericViewSet):
    """One API key's usage (JWT): the organization's members and staff read it."""

    queryset = ApiKey.objects.none()
    lookup_url_kwarg = "key_id"

    def _key(self) -> ApiKey:
        organization = organization_for_user(
            user=self.request.user, organization_id=self.kwargs["organization_id"]
        )
        key_id = self.kwargs["key_id"]
        key = organization_api_key(organization=organization, key_id=key_id)
        if key is None:
            raise ResourceNotFound(f"API key {key_id} not found.")
        return key

    @extend_schema(
        summary="Usage of an API key: requests by day, by endpoint and by status class",
        # What every operation of the API keys section says of who may call it.
        description="An organization's API keys (JWT). Members and staff read; the owner and admins create "
        "and revoke.",
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": USAGE_MAX_DAYS, "default": USAGE_DEFAULT_DAYS},
                description=f"Window in days, today included (1–{USAGE_MAX_DAYS}, default "
                f"{USAGE_DEFAULT_DAYS}). Counts lag live traffic by a few seconds.",
            )
        ],
        responses={200: ApiKeyUsageSerializer},
    )
    def usage(self, request, organization_id=None, key_id=None):
        key = self._key()
        raw = request.query_params.get("days", "")
        try:
            days = int(raw) if raw else USAGE_DEFAULT_DAYS
        except ValueError:
            days = 0
        if not 1 <= days <= USAGE_MAX_DAYS:
            raise ValidationError(details={"days": [f"Must be an integer from 1 to {USAGE_MAX_DAYS}."]})
        return Response(selectors.apikey_usage_summary(key=key, days=days))
