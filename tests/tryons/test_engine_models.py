"""Which model each engine renders with, and how it is asked for: the defaults are licensed for commercial
use; a Replicate model is run at its version (or, official only, by name), through the worker and the fake."""

from dataclasses import replace

import pytest

from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.engines import fal
from tryons.engines.base import EngineInputs
from tryons.engines.settings import engine_settings
from tryons.renderers.registry import COMMERCIAL, RENDERERS, EngineModel

pytestmark = [pytest.mark.usefixtures("allow_private"), pytest.mark.django_db(transaction=True)]

VERSION = "0513734a452173b8173e907e3a59d19a36266e55b48528559432bd21c7d7e985"


def _render_one(make_cart_session, garment_server, tasks, capture):
    session = make_cart_session([garment_server.url("/garment.png")])
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    tasks.run_until_idle()
    return session.items.get()


def test_a_versioned_replicate_model_is_run_through_the_versioned_predictions_endpoint(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings, REPLICATE_MODEL=f"cuuupid/idm-vton:{VERSION}")

    item = _render_one(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)

    assert item.status == "completed"
    (create,) = fake.requests_to("POST", "/v1/predictions")
    assert create["path"] == "/v1/predictions" and create["body"]["version"] == VERSION
    assert not fake.requests_to("POST", "/v1/models/"), "owner/name serves official models only"
    fake.close()


def test_an_official_replicate_model_is_run_by_its_name(
    monkeypatch, settings, make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks
):
    kind = RENDERERS["replicate"]
    official = EngineModel("acme/tryon", COMMERCIAL, official=True)
    monkeypatch.setitem(RENDERERS, "replicate", replace(kind, models=(*kind.models, official)))
    fake = start_fake("replicate", monkeypatch, settings, REPLICATE_MODEL="acme/tryon")
    fake.official_models = ("acme/tryon",)

    item = _render_one(make_cart_session, garment_server, tasks, django_capture_on_commit_callbacks)

    assert item.status == "completed"
    (create,) = fake.requests_to("POST", "/v1/models/acme/tryon/predictions")
    assert "version" not in create["body"]
    fake.close()


def test_the_default_fal_model_is_asked_in_leffas_own_fields(monkeypatch):
    monkeypatch.setenv("FAL_KEY", "k")
    model = engine_settings().fal_model
    inputs = EngineInputs(person="p", garment="g", category="dresses", quality="sd", job_id="j")
    # fal-js libs/client/src/types/endpoints.ts, VTONInput (fal-ai/leffa/virtual-tryon): garment_type required
    assert fal.fal_model_inputs(model)(inputs) == {
        "human_image_url": "p",
        "garment_image_url": "g",
        "garment_type": "dresses",
    }
