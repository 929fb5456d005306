"""Hosted engine jobs in batches: what a cart's hand-over and a poll batch cost in statements, and admission
that holds when two runs or two submit tasks carry the same item at once (PostgreSQL, the fakes on loopback).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.concurrency import run_concurrently, wait_until
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.engines.settings import engine_settings
from tryons.models import EngineJob
from tryons.services.engine_polls import engine_jobs_poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.usefixtures("allow_private"),
    pytest.mark.django_db(transaction=True),
]


def _statements_to_hand_over(make_cart_session, garment_server, capture, *, items, cart_id):
    session = make_cart_session([garment_server.url("/garment.png")] * items, cart_id=cart_id)
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        services.cart_session_process(session_id=session.id)
    assert set(session.items.values_list("awaiting_callback", flat=True)) == {True}
    return len(queries)


def test_a_carts_hand_over_costs_the_same_few_statements_whatever_its_size(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    start_fake("fashn", monkeypatch, settings, TRYON_ENGINE_MAX_IN_FLIGHT=50)
    capture = django_capture_on_commit_callbacks

    two = _statements_to_hand_over(make_cart_session, garment_server, capture, items=2, cart_id="c2")
    twenty = _statements_to_hand_over(make_cart_session, garment_server, capture, items=20, cart_id="c20")

    # Item by item this was ~15 statements each (claim, reads, job row, admission, the provider's id).
    assert twenty <= 40
    assert twenty - two <= 2, "claim, job rows, admission and the provider ids are one statement per batch"


def test_a_batch_of_delivered_renders_is_settled_and_its_slots_handed_on_in_a_few_statements(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings, TRYON_ENGINE_MAX_IN_FLIGHT=10)
    fake.render_seconds = 0.0  # done at the first poll
    session = make_cart_session([garment_server.url("/garment.png")] * 20)
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    submitted = list(EngineJob.objects.filter(state="submitted").values_list("id", flat=True))
    assert len(submitted) == 10

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        engine_jobs_poll(submitted)

    assert session.items.filter(status="completed").count() == 10
    assert EngineJob.objects.filter(state="submitted").count() == 10, "the ten waiting jobs took the slots"
    assert len(fake.requests_to("POST", "/v1/run")) == 20
    # Per job this was ~16 statements (complete, end, hand one slot on, progress, session end, circuit).
    assert len(queries) <= 30


def test_two_submit_tasks_carrying_one_waiting_job_admit_it_once(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings, TRYON_ENGINE_MAX_IN_FLIGHT=1)
    session = make_cart_session([garment_server.url("/garment.png")] * 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    waiting = EngineJob.objects.get(state="waiting")
    monkeypatch.setenv("TRYON_ENGINE_MAX_IN_FLIGHT", "5")  # room for it now, and for a duplicate
    engine_settings.cache_clear()
    fake.delay = 0.3  # both tasks are inside the submit step at once

    run_concurrently(lambda _: services.engine_job_submit(job_id=waiting.id), 2)

    assert len(fake.requests_to("POST", "/v1/run")) == 2, "one provider job per item"
    waiting.refresh_from_db()
    assert waiting.state == "submitted" and waiting.provider_job_id
    poll_due = timezone.now() + timedelta(seconds=engine_settings().poll_seconds)
    assert waiting.next_step_at <= poll_due, "the losing task did not push the job's poll back"


def test_a_second_run_of_an_item_being_submitted_starts_no_second_provider_job(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    fake.delay = 0.5  # the first run is still waiting for the provider's answer when the second arrives
    session = make_cart_session([garment_server.url("/garment.png")])
    item = session.items.get()

    def run(index):
        if index == 1:  # a duplicate delivery, once the first run has recorded its job and is submitting it
            wait_until(lambda: EngineJob.objects.filter(tryon=item).exists(), timeout=10, interval=0.01)
        services.tryon_process(tryon_id=item.id)

    run_concurrently(run, 2)

    assert len(fake.requests_to("POST", "/v1/run")) == 1, "no second provider job under the engine's cap"
    assert list(EngineJob.objects.filter(tryon=item).values_list("id", "state")) == [
        (f"{item.id}.1", "submitted")
    ]
    item.refresh_from_db()
    assert (item.attempts, item.render_job_id, item.awaiting_callback) == (1, f"{item.id}.1", True)
