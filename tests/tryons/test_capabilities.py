"""GET /v1/account shows what this deployment renders for the key: each quality's price, size and renderer
in the key's mode (a test key: always the local preview), which of them place background scenes and how they
serve the render controls, the scene list, the controls' choices and what a look may hold."""

import pytest

from tests.tryons.engine_fixtures import start_fake
from tryons.looks import CATEGORY_ZONES, MAX_LOOK_ITEMS, MAX_LOOKS, MIN_LOOK_ITEMS
from tryons.qualities import QUALITIES
from tryons.scenes import SCENE_NAMES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def _capabilities(client) -> dict:
    answer = client.get("/api/v1/account")
    assert answer.status_code == 200, answer.content
    return answer.json()["renderCapabilities"]


def test_a_live_key_sees_each_qualitys_renderer_and_whether_it_places_scenes(
    organization, partner_client, monkeypatch, settings
):
    fake = start_fake("fashn", monkeypatch, settings, TRYON_RENDERER_SD="local")
    capabilities = _capabilities(partner_client(organization))

    assert [q["name"] for q in capabilities["qualities"]] == list(QUALITIES)
    sd, hd, _ = capabilities["qualities"]
    assert (sd["renderer"], sd["placesScenes"]) == ("local", True)
    assert (hd["renderer"], hd["placesScenes"]) == ("fashn", False), "FASHN keeps the photo's background"
    assert (hd["credits"], hd["width"], hd["height"]) == (2.0, 768, 1024)
    assert capabilities["backgroundScenes"] == list(SCENE_NAMES)
    looks = capabilities["looks"]
    assert (looks["maxLooks"], looks["minItems"], looks["maxItems"]) == (
        MAX_LOOKS,
        MIN_LOOK_ITEMS,
        MAX_LOOK_ITEMS,
    )
    assert sorted(c for categories in looks["zones"].values() for c in categories) == sorted(CATEGORY_ZONES)
    # How each renderer serves the render controls: FASHN v1.6 takes them, the local preview writes formats.
    assert hd["controls"] == {
        "garmentPhotoType": "native",
        "seed": "native",
        "numSamples": "emulated",
        "outputFormat": {"jpeg": "native", "png": "native", "webp": "converted"},
    }
    assert sd["controls"] == {
        "garmentPhotoType": "ignored",
        "seed": "ignored",
        "numSamples": "emulated",
        "outputFormat": {"jpeg": "native", "png": "native", "webp": "native"},
    }
    assert capabilities["controls"] == {
        "garmentPhotoTypes": ["auto", "flat-lay", "model"],
        "maxSamples": 4,
        "outputFormats": ["jpeg", "png", "webp"],
    }
    fake.close()


def test_a_test_key_sees_every_quality_rendered_by_the_local_preview(
    organization, partner_client, monkeypatch, settings
):
    fake = start_fake("fashn", monkeypatch, settings)
    capabilities = _capabilities(partner_client(organization, mode="test"))
    assert {q["renderer"] for q in capabilities["qualities"]} == {"local"}
    fake.close()
