"""A real `celery -A config worker` (prefork) with METRICS_PORT serves what its pool children counted, and
with LOG_FORMAT=json writes JSON lines like the web nodes."""

import json
import os
import re

import pytest
import requests
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from tests.concurrency import wait_until
from tests.e2e.stack import free_port
from tests.webhooks.factories import cart_completed_data, make_webhook
from tests.workers import start_worker, stop_worker, worker_database_url
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services as webhook_services
from webhooks.models import WebhookAttempt

# Celery's own text format: "[2026-01-01 10:00:00,000: INFO/MainProcess] ..."
CELERY_TEXT_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+: [A-Z]+/")

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def scrape(port: int) -> dict:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_serves_its_children_s_metrics_and_logs_json(tmp_path, settings, organization):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # only to register the loopback endpoint below
    webhook = make_webhook(organization, "http://127.0.0.1:9/hooks")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "OUTBOUND_ALLOW_PRIVATE_NETWORKS"}
    env.update(
        DATABASE_URL=worker_database_url(),
        METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_FORMAT="json",
    )
    log = tmp_path / "worker.log"
    app.control.purge()
    worker = start_worker("-c", "2", "--loglevel", "INFO", "-n", f"metrics-{port}@%h", env=env, log=log)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
        # A pool child delivers the event; the worker (production rules) refuses the loopback target.
        with transaction.atomic():
            webhook_services.webhook_event_record(
                organization_id=organization.id,
                event=CART_TRYON_COMPLETED.name,
                data=cart_completed_data(organization),
            )
        wait_until(lambda: WebhookAttempt.objects.filter(delivery__webhook=webhook).exists(), timeout=30)
        samples = wait_until(
            lambda: (
                (s := scrape(port)).get(("garmax_webhook_attempts_total", (("outcome", "network_error"),)))
                and s
            ),
            timeout=10,
        )
        assert samples[("garmax_webhook_attempts_total", (("outcome", "network_error"),))] == 1
        assert samples[("garmax_outbound_refusals_total", (("method", "POST"),))] == 1
        assert list(metrics_dir.glob("counter_*.db")), "no pool child wrote to the multiprocess directory"
    finally:
        stop_worker(worker)
        app.control.purge()
    lines = log.read_text().splitlines()
    # Celery's banner and Python's warnings are printed, not logged; every log record is one JSON object.
    assert not [line for line in lines if CELERY_TEXT_RECORD.match(line)]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r["message"].endswith(" ready.") for r in records)
    assert any(r["logger"] == "celery.app.trace" and "succeeded in" in r["message"] for r in records)
