"""Log filters: every line carries the request id, and nothing secret or personal reaches a log line.

Two formats (LOG_FORMAT): `text` for a terminal, and `json`, one object per line for log shippers, with the
request id, the caller's organization and key ids (never the key) and, from `garmax.access`, one line per
request with its route template, method, status and duration. Lines hold ids and templates, never request
bodies, paths with their values, email addresses or names.

Database errors are the dangerous ones: PostgreSQL's messages quote the failing statement and its values
(`LINE 1: ...'cust_x', 'shopper@example.com', ...`, `DETAIL: Key (email)=(...)`). `configure` (Django's
LOGGING_CONFIG) installs a record factory that withholds their messages when a record is created, before
any handler (or a test's caplog) sees it: the type and the traceback stay, the text goes.
"""

import json
import logging
import logging.config
import re
import traceback
from datetime import UTC, datetime

from api.credentials import API_KEY_PREFIX_PATTERN, WEBHOOK_SECRET_PREFIX
from api.request_context import current_principal, current_request_id

# API keys, webhook secrets, bearer tokens and password fields, wherever they appear in a message.
_SECRET_PATTERNS = [
    (re.compile(rf"({API_KEY_PREFIX_PATTERN})[A-Za-z0-9_\-]{{6,}}"), r"\1[redacted]"),
    (
        re.compile(rf"{re.escape(WEBHOOK_SECRET_PREFIX)}[A-Za-z0-9+/=_\-]+"),
        f"{WEBHOOK_SECRET_PREFIX}[redacted]",
    ),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)(\"?(?:password|secret|token|refresh|access)\"?\s*[:=]\s*\"?)[^\s\",}]+"),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        # Django logs a response after our middleware has left (the context is reset by then): the request's
        # own id, which DjangoRequestFilter took from it, stays.
        record.request_id = current_request_id() or getattr(record, "request_id", None) or "-"
        return True


class DjangoRequestFilter(logging.Filter):
    """Django's request loggers (`django.request`, `django.security.csrf`) put the request object on the
    record (`<WSGIRequest: GET '/api/v1/customers/<externalId>?…'>` in a JSON line) and its path in the
    message. Both carry what partners chose (external ids are often email addresses) and query strings:
    the path becomes the method and route template, the request its id, and the object leaves the record.

    Installed on those loggers themselves (so Sentry's breadcrumbs, taken before any handler, see the
    rewritten record) and on the console handler for any other logger that attaches a request.
    """

    def filter(self, record):
        request = record.__dict__.pop("request", None)
        if request is None:
            return True
        from api.routes import request_route

        route, method = request_route(request), str(getattr(request, "method", "-"))[:10]
        path = str(getattr(request, "path", ""))
        paths = {path, path.encode("unicode_escape").decode("ascii")}
        if isinstance(record.args, tuple):
            record.args = tuple(f"{method} {route}" if arg in paths else arg for arg in record.args)
        elif isinstance(record.msg, str) and path:
            record.msg = record.msg.replace(path, f"{method} {route}")
        record.route, record.method = route, method
        if "status_code" in record.__dict__:
            record.status = record.__dict__.pop("status_code")
        if getattr(request, "request_id", None):
            record.request_id = request.request_id
        return True


class PrincipalFilter(logging.Filter):
    """The calling organization and API key ids, when an API key was admitted for this request."""

    def filter(self, record):
        principal = current_principal()
        record.organization_id, record.key_id = principal if principal is not None else (None, None)
        return True


# Attributes every LogRecord has (plus our filters' ids): anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "organization_id",
    "key_id",
    "scrubbed_exception",
}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request, organization and key ids, any
    `extra=` fields, and the (already scrubbed) traceback.

    Written here rather than taken from python-json-logger: that library's generic field mapping costs
    ~25 µs a line, which with one access line per request is 5 % of a partner read's CPU
    (bench/observability_overhead.py); this costs a fifth of it.
    """

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "organization_id": getattr(record, "organization_id", None),
            "key_id": getattr(record, "key_id", None),
        }
        for key in record.__dict__.keys() - _RECORD_ATTRIBUTES:
            line[key] = record.__dict__[key]
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, default=str)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text can carry request data; keep the type and location, redact the message.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_SOURCE_FILE = logging._srcfile  # restored when the text format is configured again

_DRIVER_MODULES = ("psycopg", "psycopg2", "sqlite3")
WITHHELD = "[message withheld: database errors quote SQL values]"


def is_database_error(exc: BaseException) -> bool:
    from django.db import Error as DjangoDatabaseError

    return isinstance(exc, DjangoDatabaseError) or type(exc).__module__.split(".")[0] in _DRIVER_MODULES


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def exception_text(exc: BaseException, _seen: set | None = None) -> str:
    """A traceback like Python's, with database errors' messages withheld and secrets redacted elsewhere."""
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    parts = []
    cause = exc.__cause__
    context = None if exc.__suppress_context__ else exc.__context__
    if cause is not None and id(cause) not in seen:
        parts += [
            exception_text(cause, seen),
            "\nThe above exception was the direct cause of the following:\n\n",
        ]
    elif context is not None and id(context) not in seen:
        parts += [exception_text(context, seen), "\nDuring handling, another exception occurred:\n\n"]
    if exc.__traceback__ is not None:
        parts += ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__)]
    message = WITHHELD if is_database_error(exc) else redact(str(exc))
    parts.append(f"{_exception_name(exc)}: {message}" if message else _exception_name(exc))
    return "".join(parts)


def _scrub(record: logging.LogRecord) -> logging.LogRecord:
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = exception_text(record.exc_info[1])
        # Kept aside, never formatted: Sentry (infrastructure/observability/sentry.py) reports it, scrubbed
        # alike.
        record.scrubbed_exception = record.exc_info[1]
        record.exc_info = None
    if isinstance(record.args, tuple) and any(isinstance(arg, BaseException) for arg in record.args):
        record.args = tuple(
            f"{_exception_name(arg)}({WITHHELD})"
            if isinstance(arg, BaseException) and is_database_error(arg)
            else arg
            for arg in record.args
        )
    return record


def configure(logging_settings: dict) -> None:
    """Django's LOGGING_CONFIG: dictConfig, plus the record factory that scrubs every record at creation."""
    logging.config.dictConfig(logging_settings)
    # One line per request makes record creation hot. The JSON lines name no thread, process name or source
    # location, so they skip collecting them (the logging HOWTO's "Optimization" switches); the process id
    # stays, gunicorn's own lines show it. The text format (Celery's shows the process name) keeps them.
    lean = logging_settings.get("handlers", {}).get("console", {}).get("formatter") == "json"
    logging.logThreads = logging.logMultiprocessing = not lean
    logging._srcfile = None if lean else _SOURCE_FILE
    factory = logging.getLogRecordFactory()
    if getattr(factory, "scrubs_database_errors", False):
        return

    def scrubbing_factory(*args, **kwargs):
        return _scrub(factory(*args, **kwargs))

    scrubbing_factory.scrubs_database_errors = True
    logging.setLogRecordFactory(scrubbing_factory)
