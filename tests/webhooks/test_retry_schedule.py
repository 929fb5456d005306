"""The retry schedule as a partner's receiver sees it, and what an exhausted delivery leaves in the log.

The contract: a failed delivery is tried again 5 s after the attempt, then 15 s after that, then 45 s after
that, each within ±1 s under normal load. Measured on a real receiver's clock, with the README's worker
command (`celery -A config worker`, default log level) on PostgreSQL and Redis.
"""

import contextlib
import os
import re

import pytest
from django.db import transaction

from organizations.models import Organization
from tests.concurrency import wait_until
from tests.webhooks.factories import cart_completed_data, make_webhook
from tests.workers import start_worker, stop_worker, worker_database_url
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services
from webhooks.models import WebhookDelivery
from webhooks.services.sending import RETRY_DELAYS_SECONDS, retry_delay

SCHEDULE = (5, 15, 45)
TOLERANCE_SECONDS = 1.0
PARTNER_TEXT = "customer jane.doe@example.com not found in shop"


def test_the_documented_schedule_is_5_15_and_45_seconds():
    assert RETRY_DELAYS_SECONDS == SCHEDULE


@pytest.mark.parametrize("retry", [1, 2, 3])
def test_a_retry_delay_never_strays_more_than_a_quarter_second_from_the_schedule(retry):
    delays = [retry_delay(retry) for _ in range(2000)]
    base = SCHEDULE[retry - 1]
    assert base <= min(delays) and max(delays) <= base + 0.25, (min(delays), max(delays))
    assert max(delays) - min(delays) > 0.1, "some jitter stays, so a fleet of retries is not in lock step"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("private_targets")
def test_retries_arrive_5_15_and_45_seconds_apart_and_an_exhausted_delivery_is_one_warning_line(
    organization, make_receiver, tmp_path
):
    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": 3})
    receivers = []
    for _ in range(3):  # three endpoints: jitter and rounding show up on one of them if they are there
        receiver = make_receiver()
        receiver.respond = lambda request: (500, {"Content-Type": "text/plain"}, PARTNER_TEXT.encode(), 0)
        make_webhook(organization, receiver.url, description="Jane's shop")
        receivers.append(receiver)
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the receivers listen on loopback
    }
    log = tmp_path / "worker.log"
    worker = start_worker(env=env, log=log, wait_ready=False)  # the README's command: default log level
    try:
        with transaction.atomic():
            event = services.webhook_event_record(
                organization_id=organization.id,
                event=CART_TRYON_COMPLETED.name,
                data=cart_completed_data(organization),
            )
        deliveries = WebhookDelivery.objects.filter(event=event)
        wait_until(
            lambda: deliveries.filter(status=WebhookDelivery.Status.FAILED).count() == 3,
            timeout=120,
            interval=0.5,
            message="the deliveries did not exhaust their retries",
        )
        with contextlib.suppress(AssertionError):  # asserted below, after the schedule
            wait_until(lambda: log.read_text().count(event.id) >= 3, timeout=10, interval=0.2)
    finally:
        stop_worker(worker)
    output = log.read_text()
    print(output[-5000:])

    assert len(receivers) == 3
    for receiver in receivers:
        times = [request.at for request in receiver.requests]
        assert len(times) == 4, len(times)
        gaps = [round(later - earlier, 3) for earlier, later in zip(times, times[1:], strict=False)]
        print("attempt gaps (s):", gaps)
        for gap, scheduled in zip(gaps, SCHEDULE, strict=True):
            assert abs(gap - scheduled) <= TOLERANCE_SECONDS, gaps
        assert abs((times[2] - times[0]) - 20) <= TOLERANCE_SECONDS, gaps  # the third attempt: 20 s

    warnings = [line for line in output.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
    assert deliveries.count() == 3
    for delivery in deliveries:
        mine = [line for line in warnings if delivery.id in line]
        assert len(mine) == 1, warnings
        assert event.id in mine[0] and "4 attempts" in mine[0]
    urls = [receiver.url for receiver in receivers]
    for personal in (PARTNER_TEXT, "jane.doe", "Jane's shop", organization.name, *urls):
        assert personal not in output
