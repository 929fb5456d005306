"""A renderer chosen for one quality only (TRYON_RENDERER_HD=eventbridge) is wired like the main renderer:
its results come back through the render callback, and start-up refuses it without what it needs.

The README's production command (gunicorn -w 4) with the per-quality setting; HTTP only, as the renderer's
callback sender would talk to it."""

import json
import subprocess
import sys

import pytest
import requests

from tests.live_service import ROOT, LiveService
from tests.tryons.test_renderers import CALLBACK_URL, SECRET
from tryons.models import TryOn
from tryons.signing import HEADER, callback_signature

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

EVENTBRIDGE_FOR_HD = {
    "TRYON_RENDERER_HD": "eventbridge",
    "EVENTBRIDGE_BUS_NAME": "garmax-renders",
    "TRYON_CALLBACK_SECRET": SECRET,
}


@pytest.fixture(scope="module")
def hd_on_eventbridge(django_db_setup, django_db_blocker, tmp_path_factory):
    service = LiveService(tmp_path_factory.mktemp("hd-eventbridge"), env=EVENTBRIDGE_FOR_HD).start()
    yield service
    service.stop()


def _post_callback(service, payload: dict) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(
        service.url(CALLBACK_URL),
        data=body,
        headers={"Content-Type": "application/json", HEADER: callback_signature(secret=SECRET, body=body)},
        timeout=10,
    )


def test_a_callback_for_an_hd_item_rendered_on_eventbridge_is_applied(
    hd_on_eventbridge, transactional_db, make_cart_session
):
    session = make_cart_session(["https://shop.example/garment.png"], quality="hd")
    item = session.items.get()
    TryOn.objects.filter(pk=item.pk).update(
        status=TryOn.Status.PROCESSING, render_job_id=f"{item.pk}.1", renderer="eventbridge"
    )

    response = _post_callback(
        hd_on_eventbridge,
        {"tryonId": item.pk, "jobId": f"{item.pk}.1", "status": "failed", "error": "model refused"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "applied": True}
    item.refresh_from_db()
    assert item.status == TryOn.Status.FAILED


def test_an_unknown_or_stale_callback_answers_as_with_the_main_renderer(hd_on_eventbridge, transactional_db):
    response = _post_callback(
        hd_on_eventbridge, {"tryonId": "tryon_x", "jobId": "tryon_x.1", "status": "failed", "error": "x"}
    )
    assert response.status_code == 200 and response.json() == {"received": True, "applied": False}
    unsigned = requests.post(hd_on_eventbridge.url(CALLBACK_URL), json={"tryonId": "x"}, timeout=10)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "env",
    [
        {"TRYON_RENDERER_HD": "eventbridge"},
        {"TRYON_RENDERER_4K": "eventbridge", "EVENTBRIDGE_BUS_NAME": "garmax-renders"},
        {"TRYON_FALLBACK_RENDERER": "eventbridge", "TRYON_CALLBACK_SECRET": SECRET},
        {"TRYON_RENDERER_SD": "http"},
    ],
    ids=["hd-without-bus-or-secret", "4k-without-secret", "fallback-without-bus", "sd-http-without-url"],
)
def test_start_up_refuses_a_per_quality_renderer_without_its_settings(env, tmp_path):
    service = LiveService(tmp_path, env=env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=service.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    variable = next(iter(env))
    assert variable in result.stderr, result.stderr[-600:]
