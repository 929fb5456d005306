"""OpenTelemetry traces: Django, Celery, requests, psycopg and redis, switched on by the standard OTEL_*
variables (config/observability_settings.py) and off by default.

One trace follows a cart: the partner's POST (Django), the task it queues (Celery carries the trace context
in the message headers), the render (`tryon.render`, the engine's span, with the http engine's request under
it), the webhook task the settlement queues on commit, and its POST to the partner (requests). Spans name
routes and ids, never request bodies or headers: the instrumentations record no headers unless the
OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* variables ask for them, and API keys never go there.
"""

import contextlib
import logging

from opentelemetry import trace

logger = logging.getLogger(__name__)

# Set by tracing_configure: None means tracing is off and `span` costs nothing.
_tracer: trace.Tracer | None = None
_instrumentors: list = []


def _instrumentor_classes():
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    return [
        DjangoInstrumentor,
        CeleryInstrumentor,
        RequestsInstrumentor,
        PsycopgInstrumentor,
        RedisInstrumentor,
    ]


def _django_response_hook(span, request, response):
    # Lets an operator go from a partner's X-Request-Id (or a JSON log line) straight to the trace.
    request_id = getattr(request, "request_id", None)
    if span.is_recording() and request_id:
        span.set_attribute("garmax.request_id", request_id)


def _exporter(name: str):
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # OTLP over HTTP/protobuf: it reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT itself.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracing_configure(*, exporter_name: str = "otlp", exporter=None, set_global: bool = True):
    """Install a tracer provider and instrument every library we trace. Returns the provider.

    `exporter` (tests: an in-memory exporter) is exported to synchronously; otherwise spans go in batches
    to `exporter_name`'s exporter from a background thread (re-created in forked pool children by the SDK).
    """
    global _tracer
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the sampler, OTEL_TRACES_SAMPLER);
    # our name is only the fallback, since attributes passed to it would override the variables.
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "garmax-api"}))
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(exporter_name)))
    if set_global:
        trace.set_tracer_provider(provider)
    for cls in _instrumentor_classes():
        instrumentor = cls()
        options = {"tracer_provider": provider}
        if cls.__name__ == "DjangoInstrumentor":
            options["response_hook"] = _django_response_hook
        if cls.__name__ == "PsycopgInstrumentor":
            options["enable_commenter"] = False  # no SQL comments: they would defeat prepared statements
        instrumentor.instrument(**options)
        _instrumentors.append(instrumentor)
    _tracer = provider.get_tracer("garmax")
    logger.info("OpenTelemetry tracing is on (%s exporter)", "given" if exporter else exporter_name)
    return provider


def tracing_disable() -> None:
    """Undo tracing_configure's instrumentation (tests)."""
    global _tracer
    while _instrumentors:
        _instrumentors.pop().uninstrument()
    _tracer = None


@contextlib.contextmanager
def span(name: str, **attributes):
    """A span of our own (the render) when tracing is on; nothing at all when it is off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(
        name, attributes={f"garmax.{key}": value for key, value in attributes.items()}
    ) as current:
        yield current
