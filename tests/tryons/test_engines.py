"""Hosted engines (FASHN, fal.ai, Replicate) through their loopback fakes: submit, poll, settle, clean up."""

import base64
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from infrastructure.storage import storage_exists
from organizations.models import CreditLedgerEntry
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.models import CartTryOnSession, EngineCircuit, EngineJob, TryOn

# Transactional: on PostgreSQL a cart's items are submitted from threads (their own connections), which must
# see the committed rows, as in production.
pytestmark = [pytest.mark.usefixtures("allow_private"), pytest.mark.django_db(transaction=True)]


def _render_cart(make_cart_session, garment_server, tasks, capture, *, items=1, quality="sd"):
    session = make_cart_session([garment_server.url("/garment.png")] * items, quality=quality)
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    return session


def test_each_engine_renders_a_cart_item_through_its_documented_protocol(
    engine, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks, partner_client
):
    name, fake = engine
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    item = session.items.get()
    assert item.status == "processing" and item.awaiting_callback, "no worker waits for the provider"
    assert [(t, c) for t, _, c in tasks.queued] == [("tryons.engine_job_poll", 2)]

    tasks.run_until_idle()

    item.refresh_from_db()
    assert item.status == "completed" and item.renderer == name and item.result_key
    assert item.render_ms is not None
    job = EngineJob.objects.get(tryon=item)
    assert job.state == "succeeded" and job.provider_job_id and job.polls >= 2
    assert job.queue_ms is not None and job.render_ms is not None
    assert not storage_exists(job.garment_key), "our garment copy is deleted once the provider is done"
    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"
    submit = fake.requests_to("POST", "/")[0]
    assert submit["headers"]["Authorization"] == f"{fake.auth_scheme} {fake.key}"
    body = submit["body"]
    images = {
        "fashn": (body.get("inputs") or {}).get("model_image"),
        "fal": body.get("human_image_url"),
        "replicate": (body.get("input") or {}).get("human_img"),
    }[name]
    assert images.startswith("data:image/jpeg;base64,"), "inputs are data URIs of our copies"
    assert garment_server.url("") not in str(body), "the partner's garment URL never reaches the provider"
    answer = partner_client(session.organization).get(f"/api/v1/cart-tryons/{session.id}").json()
    assert answer["cartItems"][0]["engine"] == name
    assert answer["cartItems"][0]["renderMs"] == item.render_ms


def test_categories_are_sent_in_each_providers_vocabulary(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    sent = {}
    for name, field in (("fashn", "category"), ("fal", "garment_type"), ("replicate", "category")):
        fake = start_fake(name, monkeypatch, settings)
        session = make_cart_session(
            [garment_server.url("/garment.png")], quality="hd", cart_id=f"cart_{name}"
        )
        TryOn.objects.filter(session=session).update(category="dresses")
        with django_capture_on_commit_callbacks(execute=True):
            services.cart_session_process(session_id=session.id)
        body = fake.requests_to("POST", "/")[0]["body"]
        sent[name] = (body.get("inputs") or body.get("input") or body)[field]
        if name == "fashn":
            assert body["inputs"]["mode"] == "balanced" and body["model_name"] == "tryon-v1.6"
        if name == "fal":
            assert fake.requests_to("POST", "/")[0]["headers"]["X-Fal-Store-IO"] == "0"
        fake.close()
        tasks.queued.clear()
    assert sent == {"fashn": "one-pieces", "fal": "dresses", "replicate": "dresses"}


def test_fal_results_are_deleted_at_the_provider_after_download(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    (job,) = fake.jobs.values()
    assert job.deleted
    assert fake.requests_to("DELETE", "/v1/models/requests/")[0]["headers"]["Authorization"] == "Key test-key"
    fake.close()


def test_a_throttled_submit_backs_off_for_the_providers_retry_after_then_renders(
    engine, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    name, fake = engine
    fake.script += [({"fashn": "run", "fal": "submit", "replicate": "create"}[name], 429)]
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    job = EngineJob.objects.get(tryon__session=session)
    assert job.state == "waiting" and job.backoffs == 1
    ((task, _, countdown),) = tasks.queued
    assert task == "tryons.engine_job_submit" and 1 <= countdown <= 1.5  # Retry-After: 1
    assert not EngineCircuit.objects.filter(engine=name, consecutive_failures__gt=0).exists(), (
        "429 is not an outage"
    )

    tasks.run_until_idle()

    assert session.items.get().status == "completed"


def test_a_5xx_while_polling_backs_off_exponentially_and_keeps_the_job(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings)
    fake.script += [("get", 503), ("get", 500)]
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_next()
    tasks.run_next()
    countdowns = [c for _, _, c in tasks.ran] + [tasks.queued[0][2]]
    assert countdowns[0] == 2 and 1.6 <= countdowns[1] <= 2.4 and 3.2 <= countdowns[2] <= 4.8
    tasks.run_until_idle()
    assert session.items.get().status == "completed"
    fake.close()


def test_a_render_the_provider_fails_fails_the_item_and_refunds_it_once(
    engine, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    name, fake = engine
    fake.fail_jobs = True
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    job_id = EngineJob.objects.get(tryon__session=session).id
    tasks.run_until_idle()
    # A duplicated or late poll message changes nothing.
    tasks.queued.append(("tryons.engine_job_poll", job_id, 0))
    tasks.run_until_idle()

    item = session.items.get()
    assert (item.status, item.error_code, item.credits_refunded) == ("failed", "render_failed", item.credits)
    assert item.error.startswith(f"The {name} engine failed")
    refunds = CreditLedgerEntry.objects.filter(reference=f"{session.id}:item:0:failed")
    assert refunds.count() == 1
    assert CartTryOnSession.objects.get(pk=session.id).status == "failed"
    assert EngineJob.objects.get(pk=job_id).state == "failed"


def test_a_render_past_the_timeout_is_cancelled_at_the_provider_failed_and_refunded_once(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings)
    fake.polls_running = 10_000  # never finishes
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_next()
    job = EngineJob.objects.get(tryon__session=session)
    EngineJob.objects.filter(pk=job.id).update(
        created_at=timezone.now() - timedelta(seconds=601)
    )  # default 600
    tasks.run_until_idle()
    tasks.queued.append(("tryons.engine_job_poll", job.id, 0))
    tasks.run_until_idle()

    item = session.items.get()
    assert (item.status, item.error_code) == ("failed", "render_timed_out")
    assert CreditLedgerEntry.objects.filter(reference=f"{session.id}:item:0:failed").count() == 1
    assert EngineJob.objects.get(pk=job.id).state == "timed_out"
    assert fake.requests_to("POST", f"/v1/predictions/{job.provider_job_id}/cancel")
    fake.close()


def test_the_engine_cap_holds_jobs_back_and_a_finished_job_hands_its_slot_on(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings, TRYON_ENGINE_MAX_IN_FLIGHT=2)
    session = _render_cart(
        make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks, items=3
    )
    states = list(EngineJob.objects.order_by("id").values_list("state", flat=True))
    assert sorted(states) == ["submitted", "submitted", "waiting"]
    waiting = EngineJob.objects.get(state="waiting").id
    assert len(fake.requests_to("POST", "/v1/run")) == 2
    assert ("tryons.engine_job_submit", waiting, 5.0) in tasks.queued, (
        "its fallback, should no slot come free"
    )
    tasks.queued = [task for task in tasks.queued if task[0] != "tryons.engine_job_submit"]

    tasks.run_until_idle()

    assert fake.in_flight_peak == 2
    assert [i.status for i in session.items.order_by("position")] == ["completed"] * 3
    # The poll that settled a job submitted the waiting one in the same step: no submit task was needed.
    assert not [task for task in tasks.ran if task[0] == "tryons.engine_job_submit"]
    fake.close()


def test_consecutive_failures_open_the_circuit_and_new_items_go_to_the_fallback(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings, TRYON_FALLBACK_RENDERER="local")
    fake.fail_jobs = True
    failing = _render_cart(
        make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks, items=5
    )
    tasks.run_until_idle()
    assert [i.status for i in failing.items.all()] == ["failed"] * 5
    assert EngineCircuit.objects.get(engine="fal").open_until > timezone.now()  # default: 5 failures

    later = make_cart_session([garment_server.url("/garment.png")], cart_id="cart_after")
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=later.id)
    item = later.items.get()
    assert (item.status, item.renderer) == ("completed", "local")

    # Once the open period is over the engine is tried again, and one success closes the circuit.
    EngineCircuit.objects.filter(engine="fal").update(open_until=timezone.now() - timedelta(seconds=1))
    fake.fail_jobs = False
    again = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    assert again.items.get().renderer == "fal" and again.items.get().status == "completed"
    assert EngineCircuit.objects.get(engine="fal").consecutive_failures == 0
    fake.close()


def test_a_result_over_the_size_cap_fails_the_item(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings)
    fake.result = b"\xff\xd8" + b"0" * (25 * 1024 * 1024)  # one byte over the default 25 MB
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    item = session.items.get()
    assert item.status == "failed" and "larger than" in item.error
    assert not item.result_key
    fake.close()


def test_a_result_that_is_not_an_image_fails_the_item(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    fake.result = b"<html>not an image</html>"
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    assert (session.items.get().status, session.items.get().error_code) == ("failed", "render_invalid")
    fake.close()


def test_a_wrong_api_key_fails_the_item_with_the_providers_message(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings, FASHN_API_KEY="wrong")
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    item = session.items.get()
    assert item.status == "failed" and "UnauthorizedAccess" in item.error
    assert "wrong" not in item.error
    assert CreditLedgerEntry.objects.filter(reference=f"{session.id}:item:0:failed").count() == 1
    fake.close()


def test_fal_status_urls_off_the_queue_origin_never_get_our_key(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    other = start_fake("fal", monkeypatch, settings)  # the environment now names `other` as the queue
    monkeypatch.setenv("FAL_QUEUE_URL", fake.url(""))
    monkeypatch.setenv("FAL_API_URL", fake.url("/v1"))
    from tryons.engines.settings import engine_settings

    engine_settings.cache_clear()
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    job = EngineJob.objects.get(tryon__session=session)
    EngineJob.objects.filter(pk=job.id).update(
        provider_urls={
            **job.provider_urls,
            "status_url": other.url(f"/fal-ai/leffa/requests/{job.provider_job_id}/status"),
        }
    )
    tasks.run_until_idle()
    assert session.items.get().status == "failed"
    assert not other.requests, "nothing, and no key, went to a URL off the configured origin"
    fake.close()
    other.close()


def test_signed_url_inputs_are_short_lived_links_to_our_copies(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings, TRYON_ENGINE_INPUTS="signed-url")
    before = int(timezone.now().timestamp())
    _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    inputs = fake.requests_to("POST", "/v1/predictions")[0]["body"]["input"]
    for url in (inputs["human_img"], inputs["garm_img"]):
        # Opaque copies: nothing in the URL names the organization, the customer, the photo or the item.
        assert url.startswith(settings.PUBLIC_BASE_URL + "/media/signed/engine-inputs/")
        assert "org-" not in url and "photo_" not in url and "tryon_" not in url
        expires = int(url.split("expires=")[1].split("&")[0])
        assert expires - before <= 600 + 5, "valid for the render timeout, no longer"
    fake.close()


def test_an_item_cancelled_while_rendering_abandons_its_job_and_cancels_it_at_the_provider(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    TryOn.objects.filter(session=session).update(status="cancelled")
    tasks.run_until_idle()
    job = EngineJob.objects.get(tryon__session=session)
    assert job.state == "abandoned"
    assert fake.requests_to("PUT", f"/fal-ai/leffa/requests/{job.provider_job_id}/cancel")
    fake.close()


def test_the_sweeper_reschedules_a_job_whose_poll_died_with_its_worker(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.queued.clear()  # the worker holding the countdown task was killed
    EngineJob.objects.update(next_step_at=timezone.now() - timedelta(seconds=121))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.engine_jobs_sweep() == 1
    tasks.run_until_idle()
    assert session.items.get().status == "completed"
    fake.close()


def test_fashn_base64_output_is_decoded_and_stored(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    from infrastructure.storage import storage_read

    assert storage_read(session.items.get().result_key) == fake.result
    assert fake.requests_to("POST", "/v1/run")[0]["body"]["inputs"]["return_base64"] is True
    assert base64.b64encode(fake.result)  # the fake served it as a data URI
    fake.close()


def test_support_staff_see_each_items_engine_job_in_the_admin(
    client, support_staff, monkeypatch, settings, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("replicate", monkeypatch, settings)
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    tasks.run_until_idle()
    item = session.items.get()
    job = EngineJob.objects.get(tryon=item)
    client.force_login(support_staff)

    page = client.get(f"/admin/tryons/tryon/{quote(item.id)}/change/").content.decode()
    for shown in (job.provider_job_id, "replicate", "cuuupid/idm-vton", "succeeded", str(job.render_ms)):
        assert shown in page
    assert job.render_ms == 1500, "Replicate's own predict_time"
    listing = client.get("/admin/tryons/enginejob/").content.decode()
    assert job.id in listing
    fake.close()


def test_one_poll_task_polls_every_due_job_of_its_engine_side_by_side(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    fake.polls_queued = fake.polls_running = 0  # done at the first poll
    session = _render_cart(
        make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks, items=6
    )
    EngineJob.objects.update(next_step_at=timezone.now())
    first = tasks.queued[0][1]

    assert services.engine_jobs_poll_due(job_id=first) == 6
    assert [i.status for i in session.items.all()] == ["completed"] * 6
    assert CartTryOnSession.objects.get(pk=session.id).status == "completed"
    # The other jobs' own countdown tasks find nothing due and do nothing.
    assert services.engine_jobs_poll_due(job_id=tasks.queued[-1][1]) == 0
    fake.close()


def test_a_job_admitted_but_never_acknowledged_is_submitted_again_by_the_sweeper(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    fake.script += [("run", 500)]
    session = _render_cart(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)
    # As if the worker died between taking the slot and hearing back from the provider:
    EngineJob.objects.update(
        state="submitted", provider_job_id="", next_step_at=timezone.now() - timedelta(seconds=121)
    )
    tasks.queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.engine_jobs_sweep() == 1
    assert tasks.queued[0][0] == "tryons.engine_job_submit"
    tasks.run_until_idle()
    assert session.items.get().status == "completed"
    fake.close()
