"""Background scenes from a documented list (tryons.scenes): anything else is a 400; the local preview draws
the scene behind the shopper; an engine that cannot place one keeps the photo's background, and every item
says which scene its result shows (`backgroundSceneApplied`)."""

import io

import pytest
from PIL import Image

from tests.images import image_bytes, person_jpeg
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.models import TryOn
from tryons.renderers import RenderRequest, get_renderer
from tryons.representation import scene_applied
from tryons.scenes import SCENES

pytestmark = [pytest.mark.usefixtures("allow_private")]


def _render(scene: str) -> Image.Image:
    request = RenderRequest(
        tryon_id="tryon_scene", organization_id="org_scene", category="tops", quality="sd",
        background_scene=scene, person_image=person_jpeg(), person_photo_key="",
        garment_image=image_bytes("PNG", size=(400, 400), color=(255, 255, 255)), garment_url="",
        job_id="tryon_scene.1",
    )  # fmt: skip
    return Image.open(io.BytesIO(get_renderer("local").render(request).image)).convert("RGB")


@pytest.mark.parametrize("scene", [name for name, scene in SCENES.items() if scene.backdrop])
def test_the_local_preview_puts_the_shopper_on_the_scene(scene):
    image = _render(scene)
    corner = image.getpixel((5, 5))
    assert all(abs(got - want) <= 6 for got, want in zip(corner, SCENES[scene].backdrop, strict=True)), corner
    body = image.getpixel((image.width // 2, int(image.height * 0.45)))
    assert body[2] > body[0], f"the shopper's clothes stay as they are: {body}"


def test_the_original_scene_keeps_the_photos_background():
    for scene in ("original", ""):
        corner = _render(scene).getpixel((5, 5))
        assert all(abs(got - want) <= 8 for got, want in zip(corner, (200, 180, 160), strict=True)), corner


@pytest.mark.django_db
def test_an_unknown_scene_is_a_400_naming_the_choices(organization, photo_of, partner_client):
    answer = partner_client(organization).post(
        "/api/v1/cart-tryons",
        {
            "cartId": "c1",
            "customerPhotoS3Key": photo_of(organization).storage_key,
            "cartItems": [{"productId": "p", "imageUrl": "https://shop.example/p.png", "category": "tops"}],
            "backgroundScene": "moon",
        },
        format="json",
    )
    assert answer.status_code == 400 and "backgroundScene" in answer.json()["details"]
    assert "moon" in str(answer.json()["details"]["backgroundScene"])


@pytest.mark.django_db(transaction=True)
def test_each_item_says_which_scene_its_result_shows(
    organization, photo_of, make_cart_session, garment_server, monkeypatch, settings, tasks,
    django_capture_on_commit_callbacks, partner_client,
):  # fmt: skip
    session = make_cart_session([garment_server.url("/garment.png")], cart_id="local")
    TryOn.objects.filter(session=session).update(background_scene="studio")
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    item = session.items.get()
    assert (item.renderer, scene_applied(item)) == ("local", "studio")

    fake = start_fake("fashn", monkeypatch, settings)
    engine = make_cart_session([garment_server.url("/garment.png")], cart_id="engine")
    TryOn.objects.filter(session=engine).update(background_scene="studio")
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=engine.id)
    tasks.run_until_idle()
    item = engine.items.get()
    assert (item.renderer, scene_applied(item)) == ("fashn", "original"), "FASHN keeps the photo's background"
    read = partner_client(organization).get(f"/api/v1/cart-tryons/{engine.id}").json()
    assert read["cartItems"][0]["backgroundSceneApplied"] == "original"
    fake.close()


def test_the_readme_names_every_scene_and_who_places_them():
    from pathlib import Path

    from tryons.renderers.registry import RENDERERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Background scenes") :]
    section = " ".join(section[: section.index("## Looks")].split())
    assert SCENES
    for name in SCENES:
        assert f"`{name}`" in section, name
    placing = [name for name, kind in RENDERERS.items() if kind.places_scenes]
    assert placing
    for name in placing:
        assert f"`{name}`" in section, name
