"""Django's LOGGING: the handlers, filters and levels. The filters and formatter live in
infrastructure/logging.py; settings name them by their dotted paths, so config imports none of them."""

ACCESS_LOGGER = (
    "garmax.access"  # its level switches the access lines (infrastructure/observability/access_log.py)
)


def logging_settings(*, level: str, json_lines: bool = False) -> dict:
    """Django's LOGGING: one console handler whose lines carry the request id and never a secret.

    With `json_lines`, each line is one JSON object, and `garmax.access` logs one line per request (off in
    the text format: the load balancer logs requests, and a terminal does not need them).
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "django_request": {"()": "infrastructure.logging.DjangoRequestFilter"},
            "request_id": {"()": "infrastructure.logging.RequestIdFilter"},
            "redact": {"()": "infrastructure.logging.RedactSecretsFilter"},
            "principal": {"()": "infrastructure.logging.PrincipalFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "infrastructure.logging.JsonLinesFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["django_request", "request_id", "principal", "redact"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django logs a 5xx that escaped DRF (its "Internal Server Error" line, with the traceback); DRF's
            # are logged once by api.errors, route and request id included, and marked as logged.
            "django.request": {
                "handlers": ["console"],
                "level": "ERROR",
                "propagate": False,
                "filters": ["django_request"],
            },
            "django.security.csrf": {"filters": ["django_request"]},
            "django.db.backends": {"level": "WARNING"},
            # requests-hardened names the refused host (a partner's URL) in a WARNING; our outbound guard
            # turns the refusal into OutboundBlocked, which the delivery, job or item records, unlogged.
            "requests_hardened": {"level": "ERROR"},
            ACCESS_LOGGER: {"level": "INFO" if json_lines else "WARNING"},
        },
    }
