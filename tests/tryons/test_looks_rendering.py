"""Looks through the worker's services: each garment put on in turn (inside out) on our own copy of the
previous step, the first on the item's own render when the cart renders it; a failed step refunds its look
whole, once; a cancel refunds the looks not delivered; a run that dies resumes without rendering a finished
step again or charging twice. The local renderer renders (tests/tryons/conftest.py's counting one)."""

from decimal import Decimal

import pytest

from api.errors import ValidationError
from organizations.models import CreditLedgerEntry, Organization
from tryons import services
from tryons.inputs import GarmentInput
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.renderers.base import PermanentRenderError

pytestmark = pytest.mark.django_db(transaction=True)

OUTFIT = (("tshirt", "tops"), ("jeans", "bottoms"), ("jacket", "outerwear"), ("dress", "dresses"))


class Worker:
    """The tasks the services queue, run on demand as a worker would (`drop` loses the next ones, as a
    worker killed before it took them)."""

    def __init__(self, capture):
        self.queued: list[tuple[str, str]] = []
        self.capture = capture

    def enqueue(self, task, object_id):
        self.queued.append((task, object_id))

    def run_all(self, limit=50):
        for _ in range(limit):
            if not self.queued:
                return
            task, object_id = self.queued.pop(0)
            with self.capture(execute=True):
                if task == "tryons.process_tryon":
                    services.tryon_process(tryon_id=object_id)
                elif task == "tryons.process_cart_session":
                    services.cart_session_process(session_id=object_id)
        raise AssertionError(f"still queuing after {limit} tasks")


@pytest.fixture
def worker(monkeypatch, django_capture_on_commit_callbacks):
    worker = Worker(django_capture_on_commit_callbacks)
    monkeypatch.setattr("tryons.services.queue.enqueue", worker.enqueue)
    return worker


@pytest.fixture
def rendering(monkeypatch):
    """The counting local renderer for items and look steps alike; `fail(category)` fails the look steps
    that put on a garment of that category."""
    from tests.tryons.conftest import CountingRenderer

    renderer = CountingRenderer()
    failing: set[int] = set()
    inner = renderer.render

    def render(request):
        step = TryOn.objects.filter(pk=request.tryon_id, look__isnull=False).first()
        if step is not None and step.category in failing:
            raise PermanentRenderError("The model could not dress this pose.", code="render_rejected")
        return inner(request)

    renderer.render = render
    renderer.fail = failing.add
    monkeypatch.setattr("tryons.services.processing.get_renderer", lambda *name: renderer)
    return renderer


def _cart(organization, photo_of, garment_server, *, looks, render_items=True, cart_id="cart_1"):
    garments = [
        GarmentInput(
            product_id=f"prod_{name}",
            image_url=garment_server.url(f"/garments/{name}.png"),
            category=category,
        )
        for name, category in OUTFIT
    ]
    session, created = services.cart_session_create(
        organization_id=organization.id,
        cart_id=cart_id,
        photo_key=photo_of(organization).storage_key,
        items=garments,
        render_quality="sd",
        looks=looks,
        render_items=render_items,
    )
    assert created
    return session


def _run(session, worker, capture):
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    worker.run_all()
    session.refresh_from_db()
    return session


def _steps(look: Look) -> list[TryOn]:
    return list(TryOn.objects.filter(look=look).order_by("look_step"))


@pytest.mark.usefixtures("allow_private")
def test_looks_of_two_three_and_four_garments_are_put_on_inside_out_each_on_our_own_previous_image(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks
):
    looks = [
        {"lookId": "casual", "items": ["prod_tshirt", "prod_jeans"]},
        {"lookId": "layered", "items": ["prod_jacket", "prod_tshirt", "prod_jeans"]},
        {"lookId": "evening", "items": ["prod_jacket", "prod_dress"]},
    ]
    session = _cart(organization, photo_of, garment_server, looks=looks)
    session = _run(session, worker, django_capture_on_commit_callbacks)

    assert session.status == "completed" and session.progress == 100
    looks = list(Look.objects.filter(session=session).order_by("position"))
    assert len(looks) == 3
    for look in looks:
        assert look.status == "completed" and look.result_key
        steps = _steps(look)
        order = [session.items.get(position=p).category for p in look.item_positions]
        # The first garment is the item's own render (renderItems): the steps put on the rest, in order.
        assert [step.category for step in steps] == order[1:]
        first = session.items.get(position=look.item_positions[0])
        assert steps[0].photo_key == first.result_key, "the chain starts on the item's own result"
        for before, step in zip(steps, steps[1:], strict=False):
            assert step.photo_key == before.result_key, "each step wears the previous one: our stored copy"
        assert look.result_key == steps[-1].result_key
        assert all(garment_server.url("") not in step.photo_key for step in steps)
    layers = {look.look_id: look for look in Look.objects.filter(session=session)}
    assert [session.items.get(position=p).category for p in layers["layered"].item_positions] == [
        "bottoms",
        "tops",
        "outerwear",
    ]
    assert [session.items.get(position=p).category for p in layers["evening"].item_positions] == [
        "dresses",
        "outerwear",
    ]
    # 4 items alone + (1 + 2 + 1) look steps: the first garment of each look was not rendered again.
    assert len(rendering.calls) == 4 + 4
    assert session.credits_refunded == 0


@pytest.mark.usefixtures("allow_private")
def test_with_render_items_false_only_the_looks_render_from_the_customers_photo(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks
):
    balance = Organization.objects.get(pk=organization.id).credits
    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[{"items": ["prod_jacket", "prod_tshirt", "prod_jeans"]}],
        render_items=False,
    )
    assert session.credits_required == Decimal("3.00")  # three renders, no item alone
    assert Organization.objects.get(pk=organization.id).credits == balance - Decimal("3.00")
    session = _run(session, worker, django_capture_on_commit_callbacks)

    assert session.status == "completed"
    assert set(session.items.values_list("status", flat=True)) == {"skipped"}
    (look,) = Look.objects.filter(session=session)
    steps = _steps(look)
    assert [step.category for step in steps] == ["bottoms", "tops", "outerwear"]
    assert steps[0].photo_key == session.photo_key
    assert len(rendering.calls) == 3


@pytest.mark.usefixtures("allow_private")
def test_a_failed_middle_step_fails_its_look_and_refunds_it_whole_exactly_once(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks
):
    rendering.fail("tops")  # the top, on the bottoms: the middle step of the first look
    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[
            {"items": ["prod_jacket", "prod_tshirt", "prod_jeans"]},
            {"items": ["prod_dress", "prod_jacket"]},
        ],
        render_items=False,
    )
    session = _run(session, worker, django_capture_on_commit_callbacks)

    failed, delivered = Look.objects.filter(session=session).order_by("position")
    assert (failed.status, failed.error_code, failed.credits_refunded) == (
        "failed",
        "render_rejected",
        failed.credits,
    )
    assert delivered.status == "completed"
    refunds = CreditLedgerEntry.objects.filter(reference__startswith=f"{session.id}:look:")
    assert [(entry.reference, entry.amount) for entry in refunds] == [
        (f"{session.id}:look:0:failed", failed.credits)
    ]
    assert session.status == "partial" and session.credits_refunded == failed.credits
    assert [step.status for step in _steps(failed)] == ["completed", "failed"], "no step after the failure"
    # A late re-run of the failed step changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.tryon_process(tryon_id=_steps(failed)[1].id)
    assert CreditLedgerEntry.objects.filter(reference__startswith=f"{session.id}:look:").count() == 1


@pytest.mark.usefixtures("allow_private")
def test_cancelling_mid_look_refunds_the_looks_not_delivered_and_drops_their_steps(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks
):
    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[{"items": ["prod_tshirt", "prod_jeans", "prod_jacket"]}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    # The items are rendered; the look's first step is queued, not yet taken by a worker.
    (look,) = Look.objects.filter(session=session)
    assert look.status == "processing" and [s.status for s in _steps(look)] == ["queued"]

    services.cart_session_cancel(organization_id=organization.id, session_id=session.id)
    worker.run_all()

    look.refresh_from_db()
    session.refresh_from_db()
    assert look.status == "cancelled" and look.credits_refunded == look.credits
    assert [s.status for s in _steps(look)] == ["cancelled"]
    assert session.status == "cancelled" and session.credits_refunded == look.credits
    refund = CreditLedgerEntry.objects.get(reference=f"{session.id}:cancel")
    assert refund.amount == look.credits
    assert len(rendering.calls) == 4, "the cancelled step never rendered"


@pytest.mark.usefixtures("allow_private")
def test_a_worker_killed_mid_look_resumes_without_rendering_a_finished_step_again_or_charging_twice(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks, settings
):
    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[{"items": ["prod_jacket", "prod_tshirt", "prod_jeans"]}],
        render_items=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    first_step = next(i for task, i in worker.queued if task == "tryons.process_tryon")
    with django_capture_on_commit_callbacks(execute=True):
        services.tryon_process(tryon_id=first_step)
    # The worker dies: the next step's message is lost.
    worker.queued.clear()
    (look,) = Look.objects.filter(session=session)
    assert [s.status for s in _steps(look)] == ["completed", "queued"]

    settings.TRYON_STUCK_AFTER_SECONDS = 0
    TryOn.objects.filter(look=look, status="queued").update(heartbeat_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        report = services.tryon_sweep_stuck()
    assert report["requeued"] >= 1
    worker.run_all()

    look.refresh_from_db()
    assert look.status == "completed"
    assert [s.status for s in _steps(look)] == ["completed", "completed", "completed"]
    assert len(rendering.calls) == 3, "the finished step was not rendered again"
    charges = CreditLedgerEntry.objects.filter(reference=session.id)
    assert charges.count() == 1 and abs(charges.get().amount) == session.credits_required
    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"


def test_a_look_that_cannot_be_worn_is_refused_and_charges_nothing(organization, photo_of, garment_server):
    balance = Organization.objects.get(pk=organization.id).credits
    with pytest.raises(ValidationError, match="covers the upper zone"):
        _cart(organization, photo_of, garment_server, looks=[{"items": ["prod_dress", "prod_tshirt"]}])
    assert Organization.objects.get(pk=organization.id).credits == balance
    assert not CartTryOnSession.objects.filter(organization=organization).exists()


@pytest.mark.usefixtures("allow_private")
def test_on_a_hosted_engine_each_step_hands_the_provider_our_own_previous_result(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    import base64

    from infrastructure.storage import storage_read
    from tests.tryons.engine_fixtures import start_fake

    fake = start_fake("fashn", monkeypatch, settings)
    steps_queued = []
    monkeypatch.setattr(
        "tryons.services.queue.enqueue", lambda task, object_id: steps_queued.append((task, object_id))
    )
    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[{"items": ["prod_jacket", "prod_tshirt", "prod_jeans"]}],
        render_items=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    for _ in range(10):  # a worker taking each step as it is queued, and the engine's polls
        while steps_queued:
            task, object_id = steps_queued.pop(0)
            if task == "tryons.process_tryon":
                with django_capture_on_commit_callbacks(execute=True):
                    services.tryon_process(tryon_id=object_id)
        tasks.run_until_idle()
    (look,) = Look.objects.filter(session=session)
    assert look.status == "completed", look.error
    steps = _steps(look)
    runs = fake.requests_to("POST", "/v1/run")
    assert len(runs) == 3 and len(steps) == 3
    assert [run["body"]["inputs"]["category"] for run in runs] == ["bottoms", "tops", "tops"]
    for run, before in zip(runs[1:], steps, strict=False):
        person = base64.b64decode(run["body"]["inputs"]["model_image"].partition(",")[2])
        assert person == storage_read(before.result_key), "the previous step's stored result, as it is"
    assert garment_server.url("") not in str([run["body"] for run in runs])
    session.refresh_from_db()
    assert session.status == "completed"
    fake.close()


@pytest.mark.usefixtures("allow_private")
def test_erasing_the_customer_mid_look_forgets_its_images_and_refunds_the_look(
    organization, photo_of, garment_server, worker, rendering, django_capture_on_commit_callbacks
):
    from customers.services import customer_delete
    from infrastructure.storage import storage_exists

    session = _cart(
        organization,
        photo_of,
        garment_server,
        looks=[{"items": ["prod_jacket", "prod_tshirt", "prod_jeans"]}],
        render_items=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    first_step = next(i for task, i in worker.queued if task == "tryons.process_tryon")
    worker.queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.tryon_process(tryon_id=first_step)
    (look,) = Look.objects.filter(session=session)
    rendered = TryOn.objects.get(pk=first_step).result_key
    assert rendered and storage_exists(rendered)

    with django_capture_on_commit_callbacks(execute=True):
        customer_delete(organization_id=organization.id, external_id=session.customer.external_id)
    worker.run_all()  # the next step's run finds the photo reference gone

    look.refresh_from_db()
    session.refresh_from_db()
    assert not storage_exists(rendered), "the intermediate image is erased with the customer's results"
    assert look.result_key == "" and look.status == "failed" and look.credits_refunded == look.credits
    assert session.status == "failed" and session.credits_refunded == look.credits
    assert not TryOn.objects.filter(look=look).exclude(result_key="").exists()
