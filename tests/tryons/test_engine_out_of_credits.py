"""FASHN's three 429s told apart, and its time_out status: as FASHN's docs and SDK describe them.

An account out of credits is not throttling: the item fails at once (not after the render timeout), the
engine's circuit opens so the fallback takes the next items, and the operator is told (a metric with its
alert rule in ops/prometheus, and a line on the staff console's engine page).
"""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from organizations.models import CreditLedgerEntry
from tests import workers
from tests.concurrency import wait_until
from tests.engine_servers import FakeFal, FakeFashn, engine_environment
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.models import CartTryOnSession, EngineCircuit, EngineJob

pytestmark = [pytest.mark.usefixtures("allow_private"), pytest.mark.django_db(transaction=True)]


def _render_cart(make_cart_session, garment_server, capture, *, cart_id="cart_1"):
    session = make_cart_session([garment_server.url("/garment.png")], cart_id=cart_id)
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    return session


def _out_of_credits_alerts() -> float:
    labels = {"engine": "fashn", "reason": "out_of_credits"}
    return REGISTRY.get_sample_value("garmax_engine_circuit_opened_total", labels) or 0.0


def test_out_of_credits_fails_the_item_at_once_and_the_fallback_renders_the_next(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings, TRYON_FALLBACK_RENDERER="local")
    fake.out_of_credits = True
    alerts = _out_of_credits_alerts()

    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    assert not tasks.queued, "nothing is retried: no back-off, no wait for the render timeout"
    item = session.items.get()
    assert (item.status, item.error_code, item.credits_refunded) == (
        "failed",
        "engine_unavailable",
        item.credits,
    )
    assert "OutOfCredits" in item.error
    assert CreditLedgerEntry.objects.filter(reference=f"{session.id}:item:0:failed").count() == 1
    assert EngineJob.objects.get(tryon=item).state == "failed"
    assert len(fake.requests_to("POST", "/v1/run")) == 1
    circuit = EngineCircuit.objects.get(engine="fashn")
    assert circuit.open_until > timezone.now() and circuit.open_reason == "out_of_credits"
    assert _out_of_credits_alerts() == alerts + 1

    later = _render_cart(
        make_cart_session, garment_server, django_capture_on_commit_callbacks, cart_id="cart_2"
    )
    item = later.items.get()
    assert (item.status, item.renderer) == ("completed", "local")
    assert len(fake.requests_to("POST", "/v1/run")) == 1, "FASHN is not asked again while its circuit is open"

    # Refilled: once the open period is over FASHN is tried again, and one render closes the circuit.
    EngineCircuit.objects.filter(engine="fashn").update(open_until=timezone.now() - timedelta(seconds=1))
    fake.out_of_credits = False
    again = _render_cart(
        make_cart_session, garment_server, django_capture_on_commit_callbacks, cart_id="cart_3"
    )
    tasks.run_until_idle()
    assert (again.items.get().renderer, again.items.get().status) == ("fashn", "completed")
    circuit.refresh_from_db()
    assert (circuit.consecutive_failures, circuit.open_until, circuit.open_reason) == (0, None, "")
    fake.close()


@pytest.mark.parametrize("error", ["RateLimitExceeded", "ConcurrencyLimitExceeded"])
def test_fashns_throttling_429s_back_off_and_leave_the_circuit_alone(
    error, monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    fake.throttle_error = error
    fake.script += [("run", 429)]
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)
    job = EngineJob.objects.get(tryon__session=session)
    assert (job.state, job.backoffs) == ("waiting", 1)
    assert not EngineCircuit.objects.filter(engine="fashn").exclude(consecutive_failures=0, open_reason="")
    tasks.run_until_idle()
    assert session.items.get().status == "completed"
    fake.close()


def test_the_staff_console_engine_page_says_an_engine_is_out_of_credits(
    client, support_staff, monkeypatch, settings, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("fashn", monkeypatch, settings, TRYON_FALLBACK_RENDERER="local")
    client.force_login(support_staff)
    assert "Out of credits" not in client.get("/admin/tryons/enginecircuit/").content.decode()

    fake.out_of_credits = True
    _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    page = client.get("/admin/tryons/enginecircuit/").content.decode()
    assert "Out of credits: refill the account" in page
    fake.close()


def test_a_fashn_time_out_fails_the_item_as_a_render_failure(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    fake.fail_jobs, fake.failed_status = True, "time_out"
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)
    tasks.run_until_idle()

    item = session.items.get()
    assert (item.status, item.error_code, item.credits_refunded) == ("failed", "render_failed", item.credits)
    assert item.error == "The fashn engine failed: time_out"
    job = EngineJob.objects.get(tryon=item)
    assert job.state == "failed"
    assert CartTryOnSession.objects.get(pk=session.id).status == "failed"
    assert EngineCircuit.objects.get(engine="fashn").consecutive_failures == 1, "a provider-side failure"
    fake.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_a_worker_fails_an_out_of_credits_item_in_seconds_and_the_fallback_renders_the_next(
    organization, make_cart_session, garment_server, media_root
):
    fashn, fal = FakeFashn(), FakeFal(render_seconds=1.0)
    fashn.out_of_credits = True
    env = {
        **os.environ,
        "DATABASE_URL": workers.worker_database_url(),
        "MEDIA_ROOT": media_root,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "TRYON_RENDERER": "fashn",
        "TRYON_FALLBACK_RENDERER": "fal",
        **engine_environment("fashn", fashn),
        **engine_environment("fal", fal),
    }
    worker = workers.start_worker(
        "-c", "2", "--without-mingle", "--without-gossip", "-l", "warning",
        env=env, log=os.environ.get("WORKER_LOG"), wait_ready=False,
    )  # fmt: skip
    try:
        started = time.monotonic()
        first = make_cart_session([garment_server.url("/garment.png")], cart_id="cart_empty_balance")
        wait_until(
            lambda: CartTryOnSession.objects.get(pk=first.id).status == "failed",
            timeout=60,
            interval=0.2,
            message="the out-of-credits item did not fail",
        )
        failed_after = time.monotonic() - started
        second = make_cart_session([garment_server.url("/garment.png")], cart_id="cart_on_the_fallback")
        wait_until(
            lambda: CartTryOnSession.objects.get(pk=second.id).status == "completed",
            timeout=60,
            interval=0.2,
            message="the next item did not render on the fallback",
        )
    finally:
        workers.stop_worker(worker, timeout=10)
        fashn.close()
        fal.close()

    assert failed_after < 30, "seconds, not the 600 s render timeout"
    item = first.items.get()
    assert (item.error_code, item.credits_refunded) == ("engine_unavailable", item.credits)
    assert second.items.get().renderer == "fal"
    assert len(fashn.requests_to("POST", "/v1/run")) == 1, "FASHN was not asked again while out of credits"
    assert EngineCircuit.objects.get(engine="fashn").open_reason == "out_of_credits"
