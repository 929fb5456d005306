from django.apps import AppConfig
from django.conf import settings


class ObservabilityConfig(AppConfig):
    name = "infrastructure.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self):
        # Celery's signals (publish times, worker metrics port, JSON worker logs), in every process that
        # sends or runs tasks: Django is set up in both before the first task is sent or run.
        from infrastructure.observability import worker  # noqa: F401

        # Before the first request or task: Sentry and the instrumentations patch the libraries they watch.
        if settings.SENTRY_DSN:
            from infrastructure.observability.sentry import sentry_configure

            sentry_configure(
                dsn=settings.SENTRY_DSN,
                environment=settings.SENTRY_ENVIRONMENT,
                traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
            )
        if settings.OTEL_TRACES_ENABLED:
            from infrastructure.observability.tracing import tracing_configure

            tracing_configure(exporter_name=settings.OTEL_TRACES_EXPORTER)
