"""Settings of the observability group, read through config.environment like the rest of config/settings.py
(which star-imports this module). Each names the variable it reads; the README's Configuration table
documents them."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config import environment

__all__ = [
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_ADDR",
    "METRICS_MULTIPROCESS_DIR",
    "METRICS_PORT",
    "METRICS_TOKEN",
    "OTEL_TRACES_ENABLED",
    "OTEL_TRACES_EXPORTER",
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
    "SENTRY_TRACES_SAMPLE_RATE",
]

LOG_LEVEL = environment.read("LOG_LEVEL", str, "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
# `json`: one JSON object per line with a line per request (log shippers); `text` for people at a terminal.
LOG_FORMAT = environment.read("LOG_FORMAT", str, "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")

# Bearer token that opens GET /metrics on the web nodes; unset, the path answers 404.
METRICS_TOKEN = environment.read("METRICS_TOKEN", str, "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long")
# A Celery worker serves its metrics on this port (its main process, for all of its pool children); 0 = off.
METRICS_PORT = environment.read_positive_int("METRICS_PORT", 0, minimum=0, maximum=65535)
METRICS_ADDR = environment.read("METRICS_ADDR", str, "127.0.0.1")
# prometheus-client reads this variable itself: several processes (gunicorn workers, a prefork pool) each
# write their samples under it and whoever is scraped adds them up. Without it every process counts alone.
METRICS_MULTIPROCESS_DIR = environment.read("PROMETHEUS_MULTIPROC_DIR", str, "")
if (
    (METRICS_TOKEN or METRICS_PORT)
    and not METRICS_MULTIPROCESS_DIR
    and environment.env.str("DATABASE_URL", "")
):
    raise ImproperlyConfigured(
        "METRICS_TOKEN / METRICS_PORT need PROMETHEUS_MULTIPROC_DIR (an empty directory per service, wiped "
        "at start) outside the embedded mode: gunicorn and Celery run several processes"
    )
if METRICS_MULTIPROCESS_DIR and not Path(METRICS_MULTIPROCESS_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR {METRICS_MULTIPROCESS_DIR!r} is not a directory")

# OpenTelemetry: on when an OTLP endpoint or a traces exporter is named by the standard variables, unless
# OTEL_SDK_DISABLED. The SDK reads the rest itself (service name, sampler, headers, resource attributes).
_otel_exporter = environment.read("OTEL_TRACES_EXPORTER", str, "").strip().lower()
if _otel_exporter not in {"", "otlp", "console", "none"}:
    raise ImproperlyConfigured("OTEL_TRACES_EXPORTER must be otlp, console or none")
OTEL_TRACES_ENABLED = not environment.read_bool("OTEL_SDK_DISABLED", False) and (
    _otel_exporter in {"otlp", "console"}
    or (
        _otel_exporter != "none"
        and bool(
            environment.read("OTEL_EXPORTER_OTLP_ENDPOINT", str, "")
            or environment.read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", str, "")
        )
    )
)
OTEL_TRACES_EXPORTER = _otel_exporter or "otlp"

# Sentry error tracking: off unless a DSN is set; personal data is never sent (observability/sentry.py).
SENTRY_DSN = environment.read("SENTRY_DSN", str, "")
SENTRY_ENVIRONMENT = environment.read("SENTRY_ENVIRONMENT", str, "production")
SENTRY_TRACES_SAMPLE_RATE = environment.read("SENTRY_TRACES_SAMPLE_RATE", float, 0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")
