"""The public status: `GET /api/v1/status` (JSON, no key) and its page at /api/docs/status (HTML, served by us
with no outside asset, refreshing itself), both from tryons.status."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import method_not_allowed
from tryons.qualities import QUALITY_NAMES
from tryons.status import DEGRADED, DOWN, OPERATIONAL, UP, service_status

PAGE_REFRESH_SECONDS = 30


class EngineStateSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The renderer: local, http, eventbridge, fashn, fal or replicate.")
    qualities = serializers.ListField(
        child=serializers.ChoiceField(choices=QUALITY_NAMES),
        help_text="The render qualities it renders first.",
    )
    fallback = serializers.BooleanField(
        help_text="Whether it takes the items of an engine whose circuit is open."
    )
    state = serializers.ChoiceField(
        choices=[UP, DEGRADED, DOWN],
        help_text="degraded: its circuit is open and the fallback takes its new items; down: its circuit is "
        "open and nothing takes its place (its items wait).",
    )
    circuitOpenUntil = serializers.DateTimeField(allow_null=True, help_text="When it gets traffic again.")


class ServiceStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[OPERATIONAL, DEGRADED, DOWN])
    checkedAt = serializers.DateTimeField(help_text="Worked out at most every 10 seconds.")
    components = serializers.DictField(
        child=serializers.ChoiceField(choices=[UP, DOWN]),
        help_text="api, database, cache (keys and rate limits: down means 503s) and queue (down: new "
        "renders and deliveries wait).",
    )
    engines = EngineStateSerializer(many=True)


STATUS_EXAMPLE = {
    "status": "degraded",
    "checkedAt": "2026-01-15T10:30:00Z",
    "components": {"api": "up", "database": "up", "cache": "up", "queue": "up"},
    "engines": [
        {
            "name": "fashn",
            "qualities": list(QUALITY_NAMES),
            "fallback": False,
            "state": "degraded",
            "circuitOpenUntil": "2026-01-15T10:31:00Z",
        },
        {"name": "local", "qualities": [], "fallback": True, "state": "up", "circuitOpenUntil": None},
    ],
}


class ServiceStatusView(APIView):
    """Public: no key, nothing of any organization."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Status"],
        summary="Service health and each try-on engine's state (no key needed)",
        description="`operational`, `degraded` (an engine's circuit is open, or the task queue is down: new "
        "work waits) or `down` (the database or the cache is: requests fail). Worked out at most every 10 "
        "seconds. Your key's own limits: `GET /api/v1/status/rate-limits`. As a page: `/api/docs/status`.",
        responses={200: ServiceStatusSerializer},
        examples=[OpenApiExample("An engine's circuit open", value=STATUS_EXAMPLE, response_only=True)],
        auth=[],
    )
    def get(self, request):
        return Response(service_status())


@never_cache
def status_page(request):
    """The same status as an HTML page (GET or HEAD; anything else is the JSON 405)."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    context = {"status": service_status(), "refresh": PAGE_REFRESH_SECONDS}
    return render(request, "api_docs/status.html", context)
