"""Staff re-runs of a failed cart item (tryons.services.rerun): charged again, refunded again, once."""

import os
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from api.errors import Conflict, Forbidden, InsufficientCredits, ResourceNotFound, ValidationError
from customers.models import Customer
from organizations.models import CreditLedgerEntry
from organizations.services import credits_adjust, organization_set_status
from tests import workers
from tests.concurrency import run_concurrently, wait_until
from tryons import services
from tryons.models import CartTryOnSession, TryOn
from tryons.renderers import get_renderer
from tryons.renderers.base import PermanentRenderError
from tryons.services import queue
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tryons_tryon_changelist"


class SelectiveRenderer:
    """The real local renderer, except that items listed in `failing` fail permanently."""

    name = "local"

    def __init__(self):
        self.inner = get_renderer("local")
        self.failing: set[str] = set()
        self.calls: list[str] = []

    def render(self, request):
        self.calls.append(request.tryon_id)
        if request.tryon_id in self.failing:
            raise PermanentRenderError("The engine refused the garment.", code="engine_refused")
        return self.inner.render(request)


@pytest.fixture
def renderer(monkeypatch):
    renderer = SelectiveRenderer()
    monkeypatch.setattr("tryons.services.processing.get_renderer", lambda *name: renderer)
    return renderer


@pytest.fixture
def queued(monkeypatch):
    """What the re-runs handed to the workers (the broker is not what these tests are about)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(queue, "enqueue", lambda name, object_id: sent.append((name, object_id)))
    return sent


@pytest.fixture
def partial_session(make_cart_session, renderer, garment_server, allow_private, queued):
    """A session of two sd items (2 credits) that ended partial: item 2 failed and was refunded."""
    session = make_cart_session([garment_server.url(f"/garment-{n}.png") for n in (1, 2)], cart_id="cart_r")
    failing = session.items.get(position=1)
    renderer.failing.add(failing.pk)
    services.cart_session_process(session_id=session.pk)
    session.refresh_from_db()
    assert session.status == CartTryOnSession.Status.PARTIAL
    renderer.failing.clear()
    queued.clear()
    return session


def failed_item(session) -> TryOn:
    return session.items.get(position=1)


def balance(organization) -> Decimal:
    organization.refresh_from_db()
    return organization.credits


def end_events(session) -> list[str]:
    return [
        event.event
        for event in WebhookEvent.objects.filter(organization_id=session.organization_id).order_by(
            "created_at"
        )
        if event.data.get("sessionId") == session.pk
    ]


def test_rerun_charges_again_with_staff_and_reason_then_completes_the_session(
    partial_session, organization, billing_staff, renderer, queued, django_capture_on_commit_callbacks
):
    item = failed_item(partial_session)
    assert balance(organization) == Decimal("99.00")  # 2 charged, the failed one refunded

    with django_capture_on_commit_callbacks(execute=True):
        rerun = services.cart_item_rerun(
            tryon_id=item.pk, actor=billing_staff, reason="engine outage, ticket 42"
        )

    assert rerun.status == TryOn.Status.QUEUED and rerun.reruns == 1 and rerun.attempts == 0
    assert rerun.credits_refunded == 0 and rerun.error_code == ""
    assert balance(organization) == Decimal("98.00")
    charge = CreditLedgerEntry.objects.get(reference=f"{partial_session.pk}:item:1:rerun:1")
    assert charge.kind == "charge" and charge.amount == Decimal("-1.00") and charge.actor == billing_staff
    assert "engine outage, ticket 42" in charge.description
    partial_session.refresh_from_db()
    assert partial_session.status == CartTryOnSession.Status.PROCESSING
    assert partial_session.progress == 50 and partial_session.completed_at is None
    assert partial_session.credits_charged == Decimal("3.00")
    assert queued == [("tryons.process_cart_session", partial_session.pk)]

    services.cart_session_process(session_id=partial_session.pk)

    assert renderer.calls[-1] == item.pk and renderer.calls.count(item.pk) == 2  # only the failed item again
    item.refresh_from_db()
    assert item.status == TryOn.Status.COMPLETED and item.result_key
    partial_session.refresh_from_db()
    assert partial_session.status == CartTryOnSession.Status.COMPLETED and partial_session.progress == 100
    assert partial_session.completed_at is not None
    assert end_events(partial_session) == ["cart_tryon.partial", "cart_tryon.completed"]
    completed = WebhookEvent.objects.filter(event="cart_tryon.completed").get()
    assert [entry["status"] for entry in completed.data["results"]] == ["completed", "completed"]
    assert completed.data["successCount"] == 2 and completed.data["failureCount"] == 0
    assert (completed.data["creditsCharged"], completed.data["creditsRefunded"]) == (3, 1)  # as the ledger
    assert balance(organization) == Decimal("98.00")


def test_a_rerun_that_fails_again_is_refunded_once_under_its_own_reference(
    partial_session, organization, billing_staff, renderer
):
    item = failed_item(partial_session)
    renderer.failing.add(item.pk)
    services.cart_item_rerun(tryon_id=item.pk, actor=billing_staff, reason="customer asked")
    services.cart_session_process(session_id=partial_session.pk)
    services.cart_session_process(session_id=partial_session.pk)  # a redelivered run changes nothing

    item.refresh_from_db()
    assert item.status == TryOn.Status.FAILED and item.credits_refunded == Decimal("1.00")
    assert balance(organization) == Decimal("99.00")
    refunds = CreditLedgerEntry.objects.filter(kind="refund").values_list("reference", flat=True)
    assert sorted(refunds) == [
        f"{partial_session.pk}:item:1:failed",
        f"{partial_session.pk}:item:1:rerun:1:failed",
    ]
    partial_session.refresh_from_db()
    assert partial_session.status == CartTryOnSession.Status.PARTIAL
    assert partial_session.credits_charged == Decimal("3.00")
    assert partial_session.credits_refunded == Decimal("2.00")
    assert end_events(partial_session) == ["cart_tryon.partial", "cart_tryon.partial"]

    # A second re-run is a new charge and, failing again, a new refund: the ledger still sums up.
    services.cart_item_rerun(tryon_id=item.pk, actor=billing_staff, reason="one more try")
    services.cart_session_process(session_id=partial_session.pk)
    assert CreditLedgerEntry.objects.filter(reference__contains=":rerun:2").count() == 2
    assert balance(organization) == Decimal("99.00")


def test_rerun_job_ids_never_reuse_the_first_runs(partial_session, billing_staff, renderer):
    item = failed_item(partial_session)
    first_job = item.render_job_id
    services.cart_item_rerun(tryon_id=item.pk, actor=billing_staff, reason="retry")
    services.cart_session_process(session_id=partial_session.pk)
    item.refresh_from_db()
    assert first_job == f"{item.pk}.1" and item.render_job_id == f"{item.pk}.r1.1"


def assert_refused(error, partial_session, organization, **call):
    before = (balance(organization), CreditLedgerEntry.objects.count())
    with pytest.raises(error):
        services.cart_item_rerun(**call)
    assert (balance(organization), CreditLedgerEntry.objects.count()) == before
    assert TryOn.objects.get(pk=failed_item(partial_session).pk).reruns == 0


def test_only_failed_items_can_be_rerun(partial_session, organization, billing_staff):
    completed = partial_session.items.get(position=0)
    assert_refused(
        Conflict, partial_session, organization, tryon_id=completed.pk, actor=billing_staff, reason="x"
    )


def test_items_of_a_session_in_progress_cannot_be_rerun(partial_session, organization, billing_staff):
    CartTryOnSession.objects.filter(pk=partial_session.pk).update(status=CartTryOnSession.Status.PROCESSING)
    item = failed_item(partial_session)
    assert_refused(Conflict, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x")


def test_items_of_a_cancelled_session_cannot_be_rerun(partial_session, organization, billing_staff):
    CartTryOnSession.objects.filter(pk=partial_session.pk).update(status=CartTryOnSession.Status.CANCELLED)
    item = failed_item(partial_session)
    assert_refused(Conflict, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x")


def test_items_of_a_suspended_organization_cannot_be_rerun(partial_session, organization, billing_staff):
    organization_set_status(organization=organization, status="suspended")
    item = failed_item(partial_session)
    assert_refused(Conflict, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x")


def test_items_of_an_erased_customer_cannot_be_rerun(partial_session, organization, billing_staff):
    item = failed_item(partial_session)
    services.customer_results_erase(customer_id=item.customer_id)
    assert_refused(Conflict, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x")


def test_items_of_a_deleted_customer_cannot_be_rerun(partial_session, organization, billing_staff):
    item = failed_item(partial_session)
    Customer.objects.filter(pk=item.customer_id).delete()
    assert_refused(Conflict, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x")


def test_a_short_balance_refuses_the_rerun(partial_session, organization, billing_staff):
    credits_adjust(organization=organization, amount=-99, description="spent", actor=billing_staff)
    item = failed_item(partial_session)
    assert_refused(
        InsufficientCredits, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="x"
    )
    partial_session.refresh_from_db()
    assert partial_session.status == CartTryOnSession.Status.PARTIAL


def test_support_staff_and_a_blank_reason_are_refused(
    partial_session, organization, billing_staff, support_staff
):
    item = failed_item(partial_session)
    assert_refused(
        Forbidden, partial_session, organization, tryon_id=item.pk, actor=support_staff, reason="x"
    )
    assert_refused(
        ValidationError, partial_session, organization, tryon_id=item.pk, actor=billing_staff, reason="  "
    )


def test_single_tryons_are_not_cart_items(make_tryon, billing_staff, allow_private, garment_server):
    single = make_tryon(garment_server.url("/garment-1.png"))
    TryOn.objects.filter(pk=single.pk).update(status=TryOn.Status.FAILED)
    with pytest.raises(ResourceNotFound):
        services.cart_item_rerun(tryon_id=single.pk, actor=billing_staff, reason="x")


def test_a_newer_live_session_for_the_same_cart_content_refuses_reopening_a_failed_one(
    make_cart_session, renderer, garment_server, allow_private, queued, organization, billing_staff, photo_of
):
    photo = photo_of(organization)
    url = garment_server.url("/garment-1.png")
    failed = make_cart_session([url], cart_id="cart_same", photo=photo)
    renderer.failing.add(failed.items.get().pk)
    services.cart_session_process(session_id=failed.pk)
    failed.refresh_from_db()
    assert failed.status == CartTryOnSession.Status.FAILED
    make_cart_session([url], cart_id="cart_same", photo=photo)  # the partner simply sent the cart again

    before = balance(organization)
    with pytest.raises(Conflict):
        services.cart_item_rerun(tryon_id=failed.items.get().pk, actor=billing_staff, reason="x")
    assert balance(organization) == before
    assert TryOn.objects.get(session=failed).status == TryOn.Status.FAILED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_rerunning_one_item_at_once_charge_it_once(partial_session, organization, billing_staff):
    item = failed_item(partial_session)

    def rerun(n):
        try:
            services.cart_item_rerun(tryon_id=item.pk, actor=billing_staff, reason=f"click {n}")
        except Conflict:
            return "refused"
        return "rerun"

    results = run_concurrently(rerun, 6)

    assert sorted(results) == ["refused"] * 5 + ["rerun"]
    assert CreditLedgerEntry.objects.filter(reference__contains=":rerun:").count() == 1
    assert balance(organization) == Decimal("98.00")
    item.refresh_from_db()
    assert item.reruns == 1 and item.status == TryOn.Status.QUEUED


def test_the_console_asks_for_a_reason_then_reruns_and_leaves_history(
    client, partial_session, organization, billing_staff
):
    item = failed_item(partial_session)
    client.force_login(billing_staff)
    selection = {"action": "rerun_failed_items", ACTION_CHECKBOX_NAME: [item.pk]}

    confirmation = client.post(reverse(CHANGELIST), selection).content.decode()
    assert "Yes, re-run and charge these items" in confirmation and item.pk in confirmation
    no_reason = client.post(reverse(CHANGELIST), {**selection, "post": "yes"}).content.decode()
    assert "A reason is required." in no_reason
    assert TryOn.objects.get(pk=item.pk).status == TryOn.Status.FAILED

    done = client.post(
        reverse(CHANGELIST), {**selection, "post": "yes", "reason": "ticket 7"}, follow=True
    ).content.decode()
    assert "Re-ran 1 item(s)." in done
    assert TryOn.objects.get(pk=item.pk).status == TryOn.Status.QUEUED
    entry = LogEntry.objects.get(object_id=item.pk)
    assert entry.user == billing_staff and entry.action_flag == CHANGE
    assert entry.get_change_message() == "Re-run 1; charged 1.00 credits. Reason: ticket 7"
    assert CreditLedgerEntry.objects.get(reference__endswith=":rerun:1").actor == billing_staff

    again = client.post(
        reverse(CHANGELIST), {**selection, "post": "yes", "reason": "double click"}, follow=True
    ).content.decode()
    assert "None of the selected items is a failed cart item." in again
    assert CreditLedgerEntry.objects.filter(reference__contains=":rerun:").count() == 1


def test_support_staff_do_not_get_the_rerun_action(client, partial_session, support_staff):
    client.force_login(support_staff)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "rerun_failed_items" not in page
    item = failed_item(partial_session)
    client.post(
        reverse(CHANGELIST),
        {"action": "rerun_failed_items", ACTION_CHECKBOX_NAME: [item.pk], "post": "yes", "reason": "x"},
    )
    assert TryOn.objects.get(pk=item.pk).status == TryOn.Status.FAILED


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_rerun_and_the_partner_hears_the_new_end_state(
    make_cart_session, renderer, garment_server, allow_private, media_root, organization, billing_staff
):
    """The whole way: the re-run commits, its task goes through Redis, a `celery worker` process (with the
    real local renderer and default settings) renders the item and settles the session."""
    session = make_cart_session([garment_server.url(f"/garment-{n}.png") for n in (1, 2)], cart_id="cart_w")
    item = session.items.get(position=1)
    renderer.failing.add(item.pk)  # in this process only: the worker renders with the real renderer
    services.cart_session_process(session_id=session.pk)
    assert CartTryOnSession.objects.get(pk=session.pk).status == CartTryOnSession.Status.PARTIAL

    services.cart_item_rerun(tryon_id=item.pk, actor=billing_staff, reason="engine outage")
    env = {
        **os.environ,
        "DATABASE_URL": workers.worker_database_url(),
        "MEDIA_ROOT": media_root,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "TRYON_RENDERER": "local",
    }
    worker = workers.start_worker(
        "-P", "solo", "--without-mingle", "--without-gossip", "-l", "warning", env=env, wait_ready=False
    )
    try:
        wait_until(
            lambda: CartTryOnSession.objects.get(pk=session.pk).status == CartTryOnSession.Status.COMPLETED,
            timeout=60,
            interval=0.1,
            message="the worker did not finish the re-run",
        )
    finally:
        workers.stop_worker(worker, timeout=10)

    item.refresh_from_db()
    assert item.status == TryOn.Status.COMPLETED and item.render_job_id == f"{item.pk}.r1.1"
    assert end_events(session) == ["cart_tryon.partial", "cart_tryon.completed"]
    assert balance(organization) == Decimal("98.00")
    assert CreditLedgerEntry.objects.filter(reference__startswith=session.pk, kind="charge").count() == 2
