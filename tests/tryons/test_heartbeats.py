"""Dead work is found by heartbeats and resumed with the default settings; a live run is never doubled."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from organizations.models import CreditLedgerEntry
from tests.tryons.conftest import CountingRenderer
from tryons import services
from tryons.models import CartTryOnSession, TryOn
from tryons.services import leases, processing, queue

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def session(make_cart_session, garment_server):
    return make_cart_session(
        [garment_server.url(f"/garment-{n}.png") for n in range(3)], cart_id="cart_heartbeat"
    )


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(queue, "enqueue", lambda name, object_id: sent.append((name, object_id)))
    return sent


@pytest.fixture
def renders(renderer):
    return renderer


def worker_dies_after_first_item(session) -> None:
    """The state a SIGKILLed worker leaves: item 1 done, item 2 mid-render, its lease still on the session."""
    lease = leases.lease_claim(CartTryOnSession.objects.filter(pk=session.id), now=timezone.now())
    first, second, _ = session.items.order_by("position")
    TryOn.objects.filter(pk=first.id).update(status="completed", attempts=1, result_key="x.jpg")
    TryOn.objects.filter(pk=second.id).update(status="processing", attempts=1)
    assert lease


def test_default_settings_resume_a_killed_workers_cart_within_two_minutes():
    # The last beat came at most TRYON_HEARTBEAT_SECONDS before the kill, so the run is declared dead no
    # later than the timeout after the kill, and the next sweep comes at most one interval after that.
    worst_case = (
        django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + django_settings.TRYON_SWEEP_INTERVAL_SECONDS
    )
    assert django_settings.TRYON_HEARTBEAT_SECONDS * 3 <= django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS
    assert worst_case <= 90, "leaves the resumed run 30 s of the two minutes to finish"


def test_sweeper_resumes_a_session_whose_worker_stopped_beating_for_the_default_timeout(session, queued):
    worker_dies_after_first_item(session)
    last_beat = CartTryOnSession.objects.get(pk=session.id).heartbeat_at
    timeout = timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)

    assert services.tryon_sweep_stuck(now=last_beat + timeout - timedelta(seconds=1)) == {
        "requeued": 0,
        "failed": 0,
    }
    assert services.tryon_sweep_stuck(now=last_beat + timeout + timedelta(seconds=1)) == {
        "requeued": 1,
        "failed": 0,
    }
    assert queued == [("tryons.process_cart_session", session.id)]
    # A second sweeper right behind the first finds nothing to hand over.
    assert services.tryon_sweep_stuck(now=last_beat + timeout + timedelta(seconds=2))["requeued"] == 0
    assert CartTryOnSession.objects.get(pk=session.id).lease == ""


def test_resumed_run_finishes_without_rendering_finished_items_or_charging_again(
    organization, session, queued, renders
):
    worker_dies_after_first_item(session)
    first, second, third = session.items.order_by("position")
    later = timezone.now() + timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + 1)
    services.tryon_sweep_stuck(now=later)

    services.cart_session_process(session_id=session.id)  # the re-queued task
    services.cart_session_process(session_id=session.id)  # the dead worker's message, redelivered late

    session.refresh_from_db()
    assert (session.status, session.lease) == ("completed", "")
    assert renders.calls == [second.id, third.id]
    assert CreditLedgerEntry.objects.filter(reference__startswith=session.id).count() == 1
    organization.refresh_from_db()
    assert organization.credits == Decimal("97")


def test_a_redelivered_task_does_nothing_while_the_owning_run_is_alive(session, renders):
    worker_dies_after_first_item(session)  # ...except that this worker is alive: its heartbeat is fresh
    owner = CartTryOnSession.objects.get(pk=session.id).lease

    services.cart_session_process(session_id=session.id)

    assert renders.calls == []
    assert CartTryOnSession.objects.get(pk=session.id).lease == owner


def test_a_redelivered_task_takes_over_once_the_owners_heartbeat_is_stale(session, renders):
    worker_dies_after_first_item(session)
    stale = timezone.now() - timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + 1)
    CartTryOnSession.objects.filter(pk=session.id).update(heartbeat_at=stale)

    services.cart_session_process(session_id=session.id)

    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"
    assert len(renders.calls) == 2


def test_a_run_whose_session_was_handed_over_stops_before_its_next_item(session, queued, monkeypatch):
    def presumed_dead_and_handed_over():
        later = timezone.now() + timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + 1)
        assert services.tryon_sweep_stuck(now=later)["requeued"] == 1
        # ...and the new run claimed it.
        CartTryOnSession.objects.filter(pk=session.id).update(lease="new-run", heartbeat_at=later)

    renders = CountingRenderer(hook=presumed_dead_and_handed_over, at=1)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renders)

    services.cart_session_process(session_id=session.id)

    assert len(renders.calls) == 1, "the old run finished the item in hand, then left the rest to the new run"
    assert [i.status for i in session.items.order_by("position")] == ["completed", "queued", "queued"]
    assert CartTryOnSession.objects.get(pk=session.id).lease == "new-run"


def test_a_finished_item_resets_the_sweepers_count_of_resumes(session, queued, renders):
    worker_dies_after_first_item(session)
    later = timezone.now() + timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + 1)
    services.tryon_sweep_stuck(now=later)
    assert CartTryOnSession.objects.get(pk=session.id).sweep_count == 1

    services.cart_session_process(session_id=session.id)

    assert CartTryOnSession.objects.get(pk=session.id).sweep_count == 0


def test_sweeper_resumes_a_single_tryon_whose_worker_stopped_beating(make_tryon, garment_server, queued):
    tryon = make_tryon(garment_server.url("/garment.png"))
    assert leases.lease_claim(TryOn.objects.filter(pk=tryon.id), now=timezone.now())
    later = timezone.now() + timedelta(seconds=django_settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS + 1)

    assert services.tryon_sweep_stuck(now=later) == {"requeued": 1, "failed": 0}
    assert queued == [("tryons.process_tryon", tryon.id)]


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_beating_while_one_item_renders_for_long(session, settings, monkeypatch):
    settings.TRYON_HEARTBEAT_SECONDS = 0.2  # the thread's cadence, not the timeout the sweeper judges by
    beats = []

    def slow_render():
        started = CartTryOnSession.objects.get(pk=session.id).heartbeat_at
        time.sleep(1.5)
        beats.append(CartTryOnSession.objects.get(pk=session.id).heartbeat_at - started)

    renders = CountingRenderer(hook=slow_render, at=1)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renders)

    services.cart_session_process(session_id=session.id)

    assert beats[0] >= timedelta(seconds=1), "the heartbeat moved on while the item was still rendering"
    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"
