"""Sending one attempt: the signed POST, how its answer is judged, retry timing, and the attempt log."""

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from django.conf import settings

from api.numbers import whole_number
from infrastructure.outbound import OutboundBlocked, OutboundFailed, post
from webhooks import signing
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent
from webhooks.retry_policy import DEFAULT_SCHEDULE, MAX_DELAY_SECONDS, RetryPolicy

RETRY_DELAYS_SECONDS = DEFAULT_SCHEDULE  # then ×3 each
MAX_RETRY_DELAY_SECONDS = MAX_DELAY_SECONDS
_DEFAULT_POLICY = RetryPolicy(max_retries=len(DEFAULT_SCHEDULE))
ABORT_HEADER = "webhook-delivery"
ABORT_VALUE = "abort-message"
MAX_RETRY_AFTER_SECONDS = 3600
# A little later at random, so a fleet of retries does not hit a partner in lock step; at most a quarter
# of a second, so that with the wake-up's rounding (delivery.WAKE_GRANULARITY_SECONDS) and the broker each
# retry comes within ±1 s of the contract's 5 s, 15 s, 45 s (the third attempt within ±1 s of 20 s after the
# first). 10 % alone would be 1.5 s on the 15 s step, and the third attempt would come 22 s after the first.
RETRY_JITTER = 0.1
MAX_RETRY_JITTER_SECONDS = 0.25
RESPONSE_BODY_LOG_BYTES = 1024


@dataclass(frozen=True)
class AttemptOutcome:
    succeeded: bool
    status_code: int | None
    duration_ms: int
    response_body: str
    error: str
    retry_after: float | None = None
    # The receiver answered `webhook-delivery: abort-message` (Svix's convention): no more retries for it.
    aborted: bool = False


def retry_delay(retry_number: int, policy: RetryPolicy | None = None) -> float:
    """Seconds before retry `retry_number` (1-based) under `policy` (default: 5, 15, 45, then ×3, capped);
    plus ≤ 0.25 s of jitter."""
    base = (policy or _DEFAULT_POLICY).delay(retry_number)
    return base + random.uniform(0, min(base * RETRY_JITTER, MAX_RETRY_JITTER_SECONDS))


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    seconds = whole_number(value)
    if seconds is None:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    return max(0.0, min(float(seconds), MAX_RETRY_AFTER_SECONDS))


def _signing_secrets(webhook: Webhook, now: datetime) -> list[str]:
    active = [webhook.secret]
    if (
        webhook.previous_secret
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now
    ):
        active.append(webhook.previous_secret)
    return active


def attempt_send(
    *,
    webhook: Webhook,
    event: WebhookEvent,
    now: datetime,
    keep_alive: bool = False,
    timeout: float | None = None,
) -> AttemptOutcome:
    """One signed POST. Network errors, blocked targets, non-2xx and 3xx all come back as failures.

    `keep_alive` reuses this thread's connection to the endpoint (workers send many deliveries to few
    hosts); one-off sends such as the test event close theirs. `timeout` (default WEBHOOK_TIMEOUT_SECONDS)
    is the attempt's total wall-clock budget, however slowly the endpoint answers.
    """
    body = event.body.encode()
    timestamp = int(now.timestamp())
    secrets_in_use = _signing_secrets(webhook, now)
    # The partner's own headers first: ours are set after them (their names never collide: custom_headers).
    headers = {
        **webhook.headers,
        "Content-Type": "application/json",
        "X-Webhook-Signature": signing.signature_hex(secret=webhook.secret, body=body),
        "X-Webhook-Event": event.event,
        "X-Webhook-Id": event.id,
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_standard(
            secrets_in_use=secrets_in_use, message_id=event.id, timestamp=timestamp, body=body
        ),
    }
    if len(secrets_in_use) > 1:
        # The seed's single hex header can carry one secret; partners mid-rotation can check this one.
        headers["X-Webhook-Signature-Previous"] = signing.signature_hex(secret=secrets_in_use[1], body=body)
    started = time.monotonic()
    try:
        response = post(
            webhook.url,
            data=body,
            headers=headers,
            timeout=timeout or settings.WEBHOOK_TIMEOUT_SECONDS,
            max_response_bytes=RESPONSE_BODY_LOG_BYTES,
            keep_alive=keep_alive,
        )
    except (OutboundBlocked, OutboundFailed) as exc:
        return AttemptOutcome(False, None, _elapsed_ms(started), "", str(exc)[:500])
    duration = _elapsed_ms(started)
    text = response.content[:RESPONSE_BODY_LOG_BYTES].decode("utf-8", errors="replace")
    code = response.status_code
    if 200 <= code < 300:
        return AttemptOutcome(True, code, duration, text, "")
    error = "Redirects are not followed." if 300 <= code < 400 else f"HTTP {code}"
    retry_after = _parse_retry_after(response.headers.get("Retry-After"), now) if code in (429, 503) else None
    aborted = response.headers.get(ABORT_HEADER, "").strip().lower() == ABORT_VALUE
    if aborted:
        error = f"HTTP {code}; the endpoint asked for no more retries ({ABORT_HEADER}: {ABORT_VALUE})."
    return AttemptOutcome(False, code, duration, text, error, retry_after, aborted)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def attempts_log(sent: Iterable[tuple[WebhookDelivery, AttemptOutcome]]) -> list[WebhookAttempt]:
    """Log each attempt as the delivery's next one (its `attempt_count` + 1), in the order given."""
    return WebhookAttempt.objects.bulk_create(
        WebhookAttempt(
            delivery=delivery,
            number=delivery.attempt_count + 1,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_body=outcome.response_body,
            error=outcome.error,
        )
        for delivery, outcome in sent
    )
