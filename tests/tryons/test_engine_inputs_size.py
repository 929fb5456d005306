"""Each engine gets its inputs in a form it accepts: no more pixels than its model renders at, upright, inline
only within the provider's advice (FASHN's troubleshooting guide: oversized base64 is a cause of its 500s;
Replicate: data URIs "only recommended" under 1 MB; fal: URLs are "the universal format"), by a short-lived
opaque signed URL otherwise. A 5xx to a large submission does not open an engine's circuit for everyone.
Through the worker's services and each provider's fake (tests/engine_servers.py records what it received).
"""

import io
import os
import time
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageChops, ImageDraw

from infrastructure.storage import storage_read, storage_save
from tests.images import image_bytes
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.engines.inputs import InputUnusable, fitted_size, input_prepare, outfit_image
from tryons.engines.settings import engine_settings
from tryons.models import EngineCircuit
from tryons.renderers.registry import RENDERERS, engine_model
from tryons.services import engine_io
from tryons.services.engine_jobs import LARGE_SUBMISSION_BYTES

pytestmark = [pytest.mark.usefixtures("allow_private"), pytest.mark.django_db(transaction=True)]

MB = 1024 * 1024


def camera_photo(size=(4000, 6000)) -> bytes:
    """A phone camera's photo: a person drawn on a background with sensor noise, about 12 MB as a JPEG."""
    width, height = size
    image = Image.new("RGB", size, (200, 180, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 5 / 12, height * 4 / 45, width * 7 / 12, height * 2 / 9), fill=(230, 200, 170))
    draw.rectangle((width * 11 / 30, height * 2 / 9, width * 19 / 30, height * 2 / 3), fill=(90, 90, 120))
    noise = Image.frombytes("L", size, os.urandom(width * height)).point(lambda v: v * 48 // 255)
    image = ImageChops.add(image, noise.convert("RGB"), 1, -24)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def noise_png(size) -> bytes:
    """Pixels nothing compresses: within a working size, still larger than any inline ceiling."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def twelve_mb_photo():
    data = camera_photo()
    assert len(data) >= 11 * MB, len(data)
    return data


def _cart_on(photo_bytes, *, organization, photo_of, make_cart_session, garment_server, capture, cart="c1"):
    photo = photo_of(organization)
    storage_save(photo.storage_key, photo_bytes)
    session = make_cart_session([garment_server.url("/garment.png")], cart_id=cart, photo=photo)
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    return session


def _within(size, working_size) -> bool:
    return max(size) <= max(working_size) and min(size) <= min(working_size)


def test_a_12_mb_photo_reaches_each_engine_inline_at_its_working_size(
    engine, twelve_mb_photo, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    name, fake = engine
    kind = RENDERERS[name]
    working_size = engine_model(kind, engine_settings().model(name)).working_size

    session = _cart_on(
        twelve_mb_photo, organization=organization, photo_of=photo_of, make_cart_session=make_cart_session,
        garment_server=garment_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip
    tasks.run_until_idle()

    assert session.items.get().status == "completed"
    person, garment = fake.inputs_seen
    assert person["form"] == "data-uri" and person["bytes"] <= kind.inline_max_bytes
    assert _within(person["size"], working_size), (person["size"], working_size)
    # 4000 x 6000 held to the model's box, the aspect ratio kept.
    assert person["size"] == fitted_size((4000, 6000), working_size)
    assert garment["form"] == "data-uri" and garment["size"] == (400, 400)  # already small: as it is


def test_an_input_too_large_to_go_inline_is_sent_as_an_opaque_signed_url_of_the_prepared_copy(
    engine,
    organization,
    photo_of,
    make_cart_session,
    garment_server,
    tasks,
    django_capture_on_commit_callbacks,
):
    name, fake = engine
    kind = RENDERERS[name]
    working_size = engine_model(kind, engine_settings().model(name)).working_size
    photo = noise_png((min(working_size), max(working_size)))
    assert len(photo) > kind.inline_max_bytes

    _cart_on(
        photo, organization=organization, photo_of=photo_of, make_cart_session=make_cart_session,
        garment_server=garment_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip

    person, garment = fake.inputs_seen
    assert person["form"] == "url" and garment["form"] == "data-uri"
    path = urlsplit(person["value"]).path
    assert path.startswith("/media/signed/engine-inputs/") and "org-" not in path
    copy = storage_read(path.removeprefix("/media/signed/"))  # the job still runs: its copy is there
    assert copy == photo, "within the working size: the photo itself, by URL rather than re-encoded"
    tasks.run_until_idle()


@pytest.mark.parametrize("name", ["fashn", "fal", "replicate"])
def test_with_data_uri_inputs_an_incompressible_photo_is_re_encoded_until_it_fits_inline(
    name, monkeypatch, settings, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake(name, monkeypatch, settings, TRYON_ENGINE_INPUTS="data-uri")
    kind = RENDERERS[name]
    working_size = engine_model(kind, engine_settings().model(name)).working_size
    photo = noise_png((min(working_size), max(working_size)))

    session = _cart_on(
        photo, organization=organization, photo_of=photo_of, make_cart_session=make_cart_session,
        garment_server=garment_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip
    tasks.run_until_idle()

    assert session.items.get().status == "completed"
    person = fake.inputs_seen[0]
    assert person["form"] == "data-uri" and person["bytes"] <= kind.inline_max_bytes
    assert person["size"] == (min(working_size), max(working_size))
    fake.close()


def test_a_500_to_a_large_submission_does_not_count_against_the_circuit_but_one_to_a_small_one_does(
    monkeypatch, settings, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("fashn", monkeypatch, settings, TRYON_ENGINE_INPUTS="data-uri")
    fake.script = [("run", 500), ("run", 500)]
    common = dict(
        organization=organization, photo_of=photo_of, make_cart_session=make_cart_session,
        garment_server=garment_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip

    _cart_on(noise_png((700, 900)), cart="large", **common)  # 1.9 MB: within what FASHN gets inline
    large = fake.inputs_seen[0]["bytes"] + fake.inputs_seen[1]["bytes"]
    assert large > LARGE_SUBMISSION_BYTES
    circuit = EngineCircuit.objects.filter(engine="fashn").first()
    assert circuit is None or circuit.consecutive_failures == 0, "a large request's 500 may be the payload's"

    _cart_on(image_bytes(size=(600, 900)), cart="small", **common)
    assert EngineCircuit.objects.get(engine="fashn").consecutive_failures == 1, "a small one's is FASHN's"
    tasks.run_until_idle()  # both are retried after their back-off, and render
    assert len(fake.jobs) == 2
    fake.close()


def test_a_carts_photo_is_prepared_once_however_many_items_are_submitted_side_by_side(
    monkeypatch, settings, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("fashn", monkeypatch, settings)
    prepared = []

    def slow_prepare(data, **options):
        prepared.append(len(data))
        time.sleep(0.05)  # long enough for every submitting thread to ask for the photo meanwhile
        return input_prepare(data, **options)

    monkeypatch.setattr("tryons.services.engine_io.input_prepare", slow_prepare)
    photo = photo_of(organization)
    storage_save(photo.storage_key, camera_photo(size=(2000, 3000)))
    session = make_cart_session([garment_server.url(f"/garment.png?n={n}") for n in range(8)], photo=photo)
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)

    assert len(fake.requests_to("POST", "/v1/run")) == 8
    photo_bytes = len(storage_read(photo.storage_key))
    assert prepared.count(photo_bytes) == 1, "one decode of the photo for the whole cart, not one a thread"
    tasks.run_until_idle()
    fake.close()


def test_a_photo_taken_sideways_reaches_the_engine_upright(
    monkeypatch, settings, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("replicate", monkeypatch, settings)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": the sensor's landscape pixels are a portrait photo
    sideways = image_bytes(size=(900, 600), exif=exif.tobytes())

    _cart_on(
        sideways, organization=organization, photo_of=photo_of, make_cart_session=make_cart_session,
        garment_server=garment_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip

    person = fake.inputs_seen[0]
    assert person["size"] == (600, 900), "rotated as the camera said, since re-encoding drops the EXIF"
    tasks.run_until_idle()
    fake.close()


def test_kling_kolors_renders_a_cart_item_in_its_own_fields(
    monkeypatch, settings, organization, photo_of, make_cart_session, garment_server, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fake = start_fake("fal", monkeypatch, settings, FAL_MODEL="fal-ai/kling/v1-5/kolors-virtual-try-on")
    fake.model = "fal-ai/kling/v1-5/kolors-virtual-try-on"

    session = _cart_on(
        image_bytes(size=(600, 900)), organization=organization, photo_of=photo_of,
        make_cart_session=make_cart_session, garment_server=garment_server,
        capture=django_capture_on_commit_callbacks,
    )  # fmt: skip
    tasks.run_until_idle()

    assert session.items.get().status == "completed"
    (submit,) = fake.requests_to("POST", "/fal-ai/kling/v1-5/kolors-virtual-try-on")
    assert set(submit["body"]) == {"human_image_url", "garment_image_url"}
    fake.close()


def test_kling_kolors_puts_a_top_and_bottoms_on_in_one_call(monkeypatch, settings, tmp_path):
    model = "fal-ai/kling/v1-5/kolors-virtual-try-on"
    assert engine_model(RENDERERS["fal"], model).garments_per_render == 2
    fake = start_fake("fal", monkeypatch, settings, FAL_MODEL=model)
    fake.model = model
    out = io.StringIO()

    call_command("renderer_check", engine="fal", outfit=True, output=str(tmp_path / "look.jpg"), stdout=out)

    (submit,) = fake.requests_to("POST", "/" + model)
    garment = Image.open(io.BytesIO(engine_io_decode(submit["body"]["garment_image_url"]))).convert("RGB")
    width, height = garment.size
    assert (width, height) == (1024, 1536)
    top, bottoms = (
        garment.getpixel((width // 2, height // 4)),
        garment.getpixel((width * 3 // 8, height * 13 // 16)),  # the left leg of the bottoms
    )
    assert top[0] > 150 and top[2] < 80, f"the sample top (red) above: {top}"
    assert bottoms[2] > bottoms[0] and bottoms[0] < 80, f"the sample bottoms (navy) below: {bottoms}"
    assert "inputs      person 768x1024" in out.getvalue()
    fake.close()


def test_an_outfit_is_refused_on_a_model_that_renders_one_garment_at_a_time(monkeypatch, settings, tmp_path):
    fake = start_fake("fal", monkeypatch, settings)
    with pytest.raises(CommandError, match="renders one garment a render"):
        call_command(
            "renderer_check", engine="fal", outfit=True, output=str(tmp_path / "x"), stdout=io.StringIO()
        )
    assert not fake.requests_to("POST", "/"), "nothing was sent"
    fake.close()


def engine_io_decode(value: str) -> bytes:
    import base64

    return base64.b64decode(value.partition(",")[2])


# --- the preparation itself -------------------------------------------------------------------------------


def test_an_image_already_within_the_working_size_and_ceiling_is_sent_byte_for_byte():
    data = image_bytes("PNG", size=(500, 700))
    prepared = input_prepare(data, working_size=(768, 1024), max_bytes=MB)
    assert prepared.data == data and prepared.content_type == "image/png"


def test_a_landscape_image_is_held_to_the_box_turned_on_its_side():
    assert fitted_size((4000, 3000), (768, 1024)) == (1024, 768)
    assert fitted_size((100, 5000), (768, 1024)) == (20, 1024)
    assert fitted_size((300, 400), (768, 1024)) == (300, 400), "never upscaled"


def test_a_transparent_cut_out_is_laid_on_white_when_re_encoded():
    data = image_bytes("PNG", size=(2000, 2000), color=(0, 0, 0, 0), mode="RGBA")
    prepared = input_prepare(data, working_size=(768, 1024))
    image = Image.open(io.BytesIO(prepared.data))
    assert (prepared.content_type, image.size) == ("image/jpeg", (768, 768))
    assert min(image.getpixel((10, 10))) > 245


def test_bytes_that_do_not_decode_are_unusable_not_a_crash():
    with pytest.raises(InputUnusable):
        input_prepare(b"GIF89a not what we store", working_size=(768, 1024))
    with pytest.raises(InputUnusable):
        outfit_image(b"\x89PNG broken", image_bytes(), working_size=(768, 1024))


def test_signed_urls_are_used_only_where_a_provider_could_fetch_them(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    settings.S3_BUCKET_NAME = ""
    for base, reachable in (
        ("http://localhost:8000", False),
        ("http://127.0.0.1:8000", False),
        ("http://[::1]:8000", False),
        ("https://api.example.com", True),
    ):
        settings.PUBLIC_BASE_URL = base
        assert engine_io._signed_urls_reach_providers() is reachable, base
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    settings.S3_BUCKET_NAME = "garmax-media"
    assert engine_io._signed_urls_reach_providers() is True
