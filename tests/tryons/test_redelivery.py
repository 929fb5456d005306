"""A message the broker redelivers (RabbitMQ does so the moment a dead worker's connection closes) resumes the
cart as soon as the dead run misses one heartbeat, with the default settings; a live owner keeps its row."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from tests.tryons.test_heartbeats import worker_dies_after_first_item
from tryons import services, tasks
from tryons.models import CartTryOnSession
from tryons.services import leases, processing

pytestmark = pytest.mark.usefixtures("allow_private")

ONE_MISSED_BEAT = django_settings.TRYON_HEARTBEAT_SECONDS + leases.REDELIVERY_GRACE_SECONDS


@pytest.fixture
def session(make_cart_session, garment_server):
    return make_cart_session(
        [garment_server.url(f"/garment-{n}.png") for n in range(3)], cart_id="cart_redelivered"
    )


class Clock:
    """Stands in for `sleep`: time passes for the row (its heartbeat ages) while the owner does, or does not,
    beat. Records how long the redelivered run chose to wait."""

    def __init__(self, session_id, *, owner_beats: bool):
        self.session_id, self.owner_beats, self.slept = session_id, owner_beats, []

    def __call__(self, seconds):
        self.slept.append(seconds)
        rows = CartTryOnSession.objects.filter(pk=self.session_id)
        if self.owner_beats:
            rows.update(heartbeat_at=timezone.now())
        else:
            heartbeat = rows.values_list("heartbeat_at", flat=True).get()
            rows.update(heartbeat_at=heartbeat - timedelta(seconds=seconds))


def test_default_settings_let_a_redelivered_run_take_over_well_within_thirty_seconds():
    # Last beat at most one period before the kill, take-over one missed beat after it: <= 15 s after it.
    assert ONE_MISSED_BEAT <= 15
    assert ONE_MISSED_BEAT < django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS


def test_a_redelivered_run_takes_a_dead_runs_session_once_it_misses_a_beat(session):
    worker_dies_after_first_item(session)
    dead_lease = CartTryOnSession.objects.get(pk=session.id).lease
    clock = Clock(session.id, owner_beats=False)

    token = leases.lease_claim_redelivered(CartTryOnSession.objects.filter(pk=session.id), sleep=clock)

    assert token and token != dead_lease
    assert CartTryOnSession.objects.get(pk=session.id).lease == token
    # It waited for the beat the dead run missed, no longer: not the sweeper's minute.
    assert len(clock.slept) == 1
    assert ONE_MISSED_BEAT - 1 < clock.slept[0] <= ONE_MISSED_BEAT + 0.2


def test_a_redelivered_run_leaves_the_session_to_an_owner_that_keeps_beating(session):
    worker_dies_after_first_item(session)  # ...but this owner only lost its broker connection
    owner = CartTryOnSession.objects.get(pk=session.id).lease
    clock = Clock(session.id, owner_beats=True)

    assert leases.lease_claim_redelivered(CartTryOnSession.objects.filter(pk=session.id), sleep=clock) == ""

    assert len(clock.slept) == 1
    assert CartTryOnSession.objects.get(pk=session.id).lease == owner


def test_a_redelivered_run_of_a_stale_owner_takes_over_without_waiting(session):
    worker_dies_after_first_item(session)
    CartTryOnSession.objects.filter(pk=session.id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=ONE_MISSED_BEAT + 1)
    )
    clock = Clock(session.id, owner_beats=False)

    assert leases.lease_claim_redelivered(CartTryOnSession.objects.filter(pk=session.id), sleep=clock)
    assert clock.slept == []


def test_a_redelivered_message_of_a_settled_session_does_nothing(session, renderer):
    services.cart_session_process(session_id=session.id)
    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"
    rendered = list(renderer.calls)

    def never(seconds):
        raise AssertionError("a settled session is not waited for")

    unsettled = CartTryOnSession.objects.filter(leases.unsettled(), pk=session.id)
    assert leases.lease_claim_redelivered(unsettled, sleep=never) == ""
    assert renderer.calls == rendered


def test_a_redelivered_run_resumes_the_cart_without_rendering_finished_items(session, renderer, monkeypatch):
    worker_dies_after_first_item(session)
    first, second, third = session.items.order_by("position")
    clock = Clock(session.id, owner_beats=False)
    real_claim = leases.lease_claim_redelivered
    monkeypatch.setattr(processing, "lease_claim_redelivered", lambda rows: real_claim(rows, sleep=clock))

    services.cart_session_process(session_id=session.id, redelivered=True)

    session.refresh_from_db()
    assert (session.status, session.lease) == ("completed", "")
    assert renderer.calls == [second.id, third.id]


def test_a_message_delivered_the_first_time_never_waits_for_a_live_owner(session, renderer, monkeypatch):
    worker_dies_after_first_item(session)  # the owner's heartbeat is fresh
    monkeypatch.setattr(processing, "lease_claim_redelivered", lambda rows: pytest.fail("not redelivered"))

    services.cart_session_process(session_id=session.id)

    assert renderer.calls == []


@pytest.mark.parametrize(
    ("delivery_info", "redelivered"),
    [({"redelivered": True}, True), ({"redelivered": False}, False), ({}, False), (None, False)],
)
def test_the_tasks_pass_on_the_brokers_redelivered_flag(monkeypatch, delivery_info, redelivered):
    seen = []
    monkeypatch.setattr(processing, "cart_session_process", lambda **kwargs: seen.append(kwargs))
    monkeypatch.setattr(processing, "tryon_process", lambda **kwargs: seen.append(kwargs))
    for task, object_id in ((tasks.process_cart_session, "cts_1"), (tasks.process_tryon, "tryon_1")):
        task.push_request(delivery_info=delivery_info)
        try:
            task.run(object_id)
        finally:
            task.pop_request()
    assert seen == [
        {"session_id": "cts_1", "redelivered": redelivered},
        {"tryon_id": "tryon_1", "redelivered": redelivered},
    ]
