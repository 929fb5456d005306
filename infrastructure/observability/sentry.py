"""Optional Sentry error tracking (SENTRY_DSN), with personal data kept out.

Sentry's default (no `send_default_pii`) keeps users, cookies and client addresses out; request bodies
are never sent; the event scrubber drops our credential headers and personal fields wherever they appear;
`before_send` redacts keys, webhook secrets and tokens from messages and exception values
(infrastructure.logging.redact) and
tags the event with the request id, so support can find the partner's request from either side.
"""

from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from api.request_context import current_principal, current_request_id
from infrastructure.logging import WITHHELD, is_database_error, redact

# Field and header names (lower case) whose values never leave the process.
SCRUBBED_FIELDS = [
    "x-api-key",
    "x_api_key",
    "http_x_api_key",
    "key",
    "secret",
    "email",
    "name",
    "phone",
    "externalid",
    "external_id",
    "photos3key",
    "photo_key",
    "customerphotos3key",
    "metadata",
]


def _redact_strings(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_strings(item) for item in value]
    return value


def _exception_from_log_record(event, hint) -> None:
    """An error logged with its exception (api.errors' "Unhandled error") reaches Sentry's logging
    integration without it: infrastructure.logging moves exceptions off every record as it is created. Put
    it back
    into the event, so Sentry groups by the exception and shows its stack."""
    record = (hint or {}).get("log_record")
    exc = getattr(record, "scrubbed_exception", None)
    if exc is None or "exception" in event:
        return
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    exception_event, _ = event_from_exception(exc, client_options=sentry_sdk.get_client().options)
    event["exception"] = exception_event["exception"]
    if is_database_error(exc):
        # PostgreSQL quotes the statement's values in its messages: as in the logs, the text is withheld.
        for value in event["exception"]["values"]:
            value["value"] = WITHHELD


def before_send(event, hint):
    _exception_from_log_record(event, hint)
    extra = event.get("extra")
    if isinstance(extra, dict):
        # The log record's private copies: the raw exception (its repr is unscrubbed) and the traceback text.
        extra.pop("scrubbed_exception", None)
        extra.pop("exc_text", None)
        event["extra"] = _redact_strings(extra)
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)  # may carry ids partners chose (externalId filters)
        # Its path does too (/v1/customers/<externalId>); the event's transaction names the route instead.
        request.pop("url", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = redact(exception["value"])
    if "logentry" in event:
        event["logentry"] = _redact_strings(event["logentry"])
    if "breadcrumbs" in event:
        crumbs = event["breadcrumbs"]
        for crumb in crumbs.get("values", []) if isinstance(crumbs, dict) else []:
            if crumb.get("category") == "query":
                crumb.pop("data", None)  # a query's parameters are customers' data
        event["breadcrumbs"] = _redact_strings(crumbs)
    tags = event.setdefault("tags", {})
    request_id = current_request_id()
    if request_id:
        tags["request_id"] = request_id
    principal = current_principal()
    if principal is not None:
        tags["organization_id"], tags["key_id"] = principal
    return event


def sentry_configure(*, dsn: str, environment: str, traces_sample_rate: float, transport=None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {}
    if transport is not None:
        options["transport"] = transport  # tests: capture events instead of sending them
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # send_default_pii is left unset: its default (no users, cookies, client addresses) is what we want,
        # and setting it explicitly is deprecated in favour of data_collection.
        max_request_body_size="never",
        include_local_variables=False,  # frame locals hold keys, secrets and customers' data
        traces_sample_rate=traces_sample_rate,
        event_scrubber=EventScrubber(
            denylist=DEFAULT_DENYLIST + SCRUBBED_FIELDS, pii_denylist=DEFAULT_PII_DENYLIST, recursive=True
        ),
        before_send=before_send,
        **options,
    )
