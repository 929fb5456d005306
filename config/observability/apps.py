from django.apps import AppConfig
from django.conf import settings


class ObservabilityConfig(AppConfig):
    name = "config.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self):
        # Before the first request or task: Sentry and the instrumentations patch the libraries they watch.
        if settings.SENTRY_DSN:
            from config.observability.sentry import sentry_configure

            sentry_configure(
                dsn=settings.SENTRY_DSN,
                environment=settings.SENTRY_ENVIRONMENT,
                traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
            )
        if settings.OTEL_TRACES_ENABLED:
            from config.observability.tracing import tracing_configure

            tracing_configure(exporter_name=settings.OTEL_TRACES_EXPORTER)
