import hmac

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import json_error
from infrastructure.observability import metrics


def metrics_view(request):
    """`GET /metrics` in the Prometheus text format, for a scraper holding `Bearer <METRICS_TOKEN>`.

    Without METRICS_TOKEN the path does not exist (404): metrics are never public by default. Any web
    process answers for all of this node's processes (multiprocess mode) and for the Celery queues.
    """
    token = settings.METRICS_TOKEN
    if not token:
        return json_error(request, "ResourceNotFound", "Not found.", 404)
    if request.method not in ("GET", "HEAD"):
        response = json_error(request, "MethodNotAllowed", f'Method "{request.method}" not allowed.', 405)
        response["Allow"] = "GET, HEAD"
        return response
    supplied = request.META.get("HTTP_AUTHORIZATION", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        response = json_error(
            request, "Unauthorized", "Metrics need Authorization: Bearer <METRICS_TOKEN>.", 401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(metrics.exposition_registry(with_queues=True))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
