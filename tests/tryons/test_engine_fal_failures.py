"""fal.ai as its docs and its own client describe it: a request fal marked failed after its retries ends the
item at once (no re-polling until the render timeout, no cancel of a finished request), fal's client's retry
codes are retried, and every submission asks fal to expire the request's CDN files."""

import json
import os
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests import workers
from tests.concurrency import wait_until
from tests.engine_servers import FakeFal, engine_environment
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.engines.settings import engine_settings
from tryons.models import EngineJob, TryOn

pytestmark = [pytest.mark.usefixtures("allow_private"), pytest.mark.django_db(transaction=True)]


def _render_cart(make_cart_session, garment_server, capture, *, items=1):
    session = make_cart_session([garment_server.url("/garment.png")] * items, quality="sd")
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    return session


@pytest.mark.parametrize("final_error", [(504, "request_timeout"), (503, "runner_disconnected")])
def test_a_request_fal_failed_after_its_retries_fails_the_item_at_once_without_a_cancel(
    final_error,
    monkeypatch,
    settings,
    make_cart_session,
    garment_server,
    tasks,
    django_capture_on_commit_callbacks,
):
    fake = start_fake("fal", monkeypatch, settings)
    fake.final_error = final_error
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    tasks.run_until_idle()

    item = session.items.get()
    job = EngineJob.objects.get(tryon=item)
    assert item.status == "failed" and item.error_code == "render_failed", item.error
    assert final_error[1] in item.error
    assert job.state == "failed" and job.polls <= 2, "the completed request is not polled again"
    assert [t for t, _, _ in tasks.ran].count("tryons.engine_job_poll") == 3  # queued, running, completed
    assert not fake.requests_to("PUT", "/"), "no cancel goes to a request fal has finished"
    fake.close()


def test_a_gateway_502_on_the_result_is_fetched_again_not_taken_for_the_requests_failure(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    fake.gateway_errors = 2  # fal's ingress, not the request: fal's own client retries these
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    tasks.run_until_idle()

    item = session.items.get()
    assert item.status == "completed", item.error
    assert (
        len(
            fake.requests_to(
                "GET", f"/fal-ai/leffa/requests/{EngineJob.objects.get(tryon=item).provider_job_id}"
            )
        )
        >= 3
    )
    assert fake.gateway_errors == 0
    fake.close()


def test_a_failure_fal_names_in_the_status_fails_the_item_without_fetching_the_result(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    fake.final_error, fake.error_in_status = (504, "request_timeout"), True
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    tasks.run_until_idle()

    item = session.items.get()
    assert item.status == "failed" and "request_timeout" in item.error
    (job,) = fake.jobs.values()
    app_root = "/" + "/".join(fake.model.split("/")[:2])  # fal's status URLs name the app, not a sub-path
    assert [r["path"] for r in fake.requests_to("GET", app_root)] == [
        f"{app_root}/requests/{job.id}/status"
    ] * 3, "the result is not fetched"
    assert not fake.requests_to("PUT", "/")
    fake.close()


@pytest.mark.parametrize("operation", ["submit", "status"])
def test_a_409_is_retried_as_fals_own_client_retries_it(
    operation,
    monkeypatch,
    settings,
    make_cart_session,
    garment_server,
    tasks,
    django_capture_on_commit_callbacks,
):
    fake = start_fake("fal", monkeypatch, settings)
    fake.script += [(operation, 409)]
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks)

    tasks.run_until_idle()

    item = session.items.get()
    job = EngineJob.objects.get(tryon=item)
    assert item.status == "completed" and job.state == "succeeded"
    assert len(fake.requests_to("POST", "/fal-ai/")) == (2 if operation == "submit" else 1)
    fake.close()


def test_every_fal_submission_asks_fal_to_expire_its_cdn_files_after_the_configured_time(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings, FAL_OBJECT_EXPIRATION_SECONDS=900)
    fake.script += [("submit", 429)]  # a resubmission carries it too
    session = _render_cart(make_cart_session, garment_server, django_capture_on_commit_callbacks, items=3)

    tasks.run_until_idle()

    assert {item.status for item in session.items.all()} == {"completed"}
    submissions = fake.requests_to("POST", "/fal-ai/")
    assert len(submissions) == 4
    for submission in submissions:
        headers = submission["headers"]
        assert json.loads(headers["X-Fal-Object-Lifecycle-Preference"]) == {
            "expiration_duration_seconds": 900
        }
        assert headers["X-Fal-Store-IO"] == "0"
    fake.close()


def test_the_fal_expiration_defaults_to_an_hour(monkeypatch, settings):
    start_fake("fal", monkeypatch, settings).close()
    assert engine_settings().fal_object_expiration_seconds == 3600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FAL_OBJECT_EXPIRATION_SECONDS": "30"}, "FAL_OBJECT_EXPIRATION_SECONDS must be an integer >= 60"),
        ({"FAL_OBJECT_EXPIRATION_SECONDS": "90000"}, "<= 86400"),
        ({"FAL_OBJECT_EXPIRATION_SECONDS": "soon"}, "FAL_OBJECT_EXPIRATION_SECONDS"),
        (
            {"FAL_OBJECT_EXPIRATION_SECONDS": "300", "TRYON_RENDER_TIMEOUT_SECONDS": "600"},
            "FAL_OBJECT_EXPIRATION_SECONDS must be at least TRYON_RENDER_TIMEOUT_SECONDS (600), got 300",
        ),
    ],
)
def test_a_fal_expiration_fal_could_delete_before_the_render_ends_stops_start_up(
    env, message, monkeypatch, settings
):
    start_fake("fal", monkeypatch, settings, **env).close()
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        engine_settings()


def test_the_expiration_is_not_held_against_the_render_timeout_when_fal_is_not_used(monkeypatch, settings):
    monkeypatch.setenv("FAL_OBJECT_EXPIRATION_SECONDS", "300")
    monkeypatch.setenv("TRYON_RENDER_TIMEOUT_SECONDS", "600")
    settings.TRYON_RENDERER = "local"
    engine_settings.cache_clear()
    assert engine_settings().fal_object_expiration_seconds == 300


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_fails_the_items_fal_failed_after_its_retries_long_before_the_render_timeout(
    organization, make_cart_session, garment_server, allow_private, media_root, settings
):
    fake = FakeFal()
    fake.final_error = (504, "request_timeout")
    env = {
        **os.environ,
        "DATABASE_URL": workers.worker_database_url(),
        "MEDIA_ROOT": media_root,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "TRYON_RENDERER": "fal",
        **engine_environment("fal", fake),
    }
    worker = workers.start_worker(
        "-c", "2", "--without-mingle", "--without-gossip", "-l", "warning",
        env=env, log=os.environ.get("WORKER_LOG"), wait_ready=False,
    )  # fmt: skip
    started = time.monotonic()
    try:
        session = make_cart_session([garment_server.url("/garment.png")] * 3, quality="sd")
        wait_until(
            lambda: TryOn.objects.filter(session=session, status__in=("failed", "completed")).count() == 3,
            timeout=60,  # the render timeout is 600 s
            interval=0.2,
            message="the items fal failed were still waiting for the render timeout",
        )
    finally:
        workers.stop_worker(worker, timeout=10)
        fake.close()

    assert time.monotonic() - started < 60
    items = list(session.items.all())
    assert len(items) == 3
    for item in items:
        assert item.status == "failed" and item.error_code == "render_failed", item.error
        assert "request_timeout" in item.error
    assert set(EngineJob.objects.filter(tryon__session=session).values_list("state", flat=True)) == {"failed"}
    assert not fake.requests_to("PUT", "/"), "no cancel goes to a request fal has finished"
