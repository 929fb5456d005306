"""The operator's view of the real stack: after a partner's journey, Prometheus scrapes gunicorn (2 workers,
multiprocess mode) and a prefork Celery worker and sees every counter the journey moved, and the web
node's JSON log lines name the partner's organization and key, never the key itself."""

import json
import secrets
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.concurrency import wait_until
from tests.e2e.client import cart_items, expect
from tests.e2e.stack import PROBE_FAILURES

pytestmark = pytest.mark.e2e


def scrape(url: str, token: str | None = None) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(url, headers=headers, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_scraping_web_and_worker_after_a_journey_shows_the_counters(stack, fresh_partner, garments, receiver):
    web_metrics = f"{stack.base_url}/metrics"
    worker_metrics = f"http://127.0.0.1:{stack.worker_metrics_port}/metrics"

    # The path is closed without the token, and says so in the API's error format.
    refused = requests.get(web_metrics, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"] == "Unauthorized"

    partner = fresh_partner(name="Metrics Shop")
    web_before = scrape(web_metrics, stack.metrics_token)
    worker_before = scrape(worker_metrics)

    expect(
        partner.post(
            "/v1/webhooks",
            json={"url": receiver.url_at("/metrics-hooks"), "events": ["cart_tryon.completed"]},
        ),
        201,
    )
    external_id = f"shopper-{secrets.token_hex(4)}"
    partner.upsert_customer(external_id)
    photo = partner.upload_photo(external_id)
    cart = partner.create_cart(photo["photoS3Key"], cart_items(garments), quality="hd")
    assert partner.wait_for_cart(cart["id"])["status"] == "completed"
    wait_until(
        lambda: receiver.received("/metrics-hooks"),
        timeout=60,
        interval=0.2,
        ignore=PROBE_FAILURES,
        message="waiting for the webhook delivery",
    )

    # 30 reads spread over gunicorn's two workers: the scrape (answered by either) must count them all.
    route = "/api/v1/customers/{externalId}"
    for _ in range(30):
        expect(partner.get(f"/v1/customers/{external_id}"), 200)

    web = scrape(web_metrics, stack.metrics_token)
    reads = dict(route=route, method="GET", status="200", auth="api_key")
    assert (
        value(web, "garmax_http_requests_total", **reads)
        - value(web_before, "garmax_http_requests_total", **reads)
        == 30
    )
    assert len(list(Path(stack.workdir / "metrics" / "web").glob("counter_*.db"))) >= 2  # both workers wrote
    created = dict(route="/api/v1/cart-tryons", method="POST", status="200", auth="api_key")  # seed 001: 200
    assert value(web, "garmax_http_requests_total", **created) >= 1
    assert value(web, "garmax_http_request_duration_seconds_count", route=route, method="GET") >= 30
    assert (
        value(web, "garmax_credits_total", kind="charge")
        - value(web_before, "garmax_credits_total", kind="charge")
        == 4
    )  # 2 items at hd
    assert value(web, "garmax_cart_sessions_total", status="queued") >= 1
    assert value(web, "garmax_celery_broker_up") == 1
    for queue in ("celery", "tryons", "webhooks"):
        assert ("garmax_celery_queue_length", (("queue", queue),)) in web
        assert ("garmax_celery_queue_oldest_task_age_seconds", (("queue", queue),)) in web

    worker = wait_until(
        lambda: (
            (s := scrape(worker_metrics))
            and value(s, "garmax_webhook_attempts_total", outcome="success")
            > value(worker_before, "garmax_webhook_attempts_total", outcome="success")
            and s
        ),
        timeout=30,
        interval=0.2,
        ignore=PROBE_FAILURES,
        message="waiting for the worker's webhook counter",
    )
    assert (
        value(worker, "garmax_tryons_total", status="completed", source="cart")
        - value(worker_before, "garmax_tryons_total", status="completed", source="cart")
        == 2
    )
    assert value(worker, "garmax_cart_sessions_total", status="completed") >= 1
    assert value(worker, "garmax_render_duration_seconds_count", engine="local", outcome="completed") >= 2
    assert value(worker, "garmax_webhook_delivery_lag_seconds_count") >= 1

    # No label anywhere names the organization, the key, the customer or the session.
    text = requests.get(
        web_metrics, headers={"Authorization": f"Bearer {stack.metrics_token}"}, timeout=30
    ).text
    text += requests.get(worker_metrics, timeout=30).text
    for private in (partner.organization_id, partner.key_id, external_id, cart["id"], partner.key):
        assert private not in text

    # LOG_FORMAT=json on the web node: one object per line from the app, ids but never the key.
    # Access lines are written in batches within a second by each gunicorn worker
    # (infrastructure/observability/access_log.py): wait for the cart's own line, not just any line of the
    # key.
    def cart_post_line() -> dict | None:
        lines = stack.processes["web"].log_text().splitlines()
        records = (json.loads(line) for line in lines if line.startswith("{"))
        return next(
            (
                r
                for r in records
                if r.get("logger") == "garmax.access"
                and (r["route"], r["method"], r["key_id"]) == ("/api/v1/cart-tryons", "POST", partner.key_id)
            ),
            None,
        )

    cart_post = wait_until(
        cart_post_line,
        timeout=10,
        interval=0.2,
        ignore=PROBE_FAILURES,
        message="waiting for the cart's access line on the web node",
    )
    log = stack.processes["web"].log_text()
    assert partner.key not in log and partner.key[16:] not in log and f"{external_id}@example.com" not in log
    assert cart_post["organization_id"] == partner.organization_id and cart_post["status"] == 200
    assert cart_post["request_id"] and cart_post["duration_ms"] > 0
