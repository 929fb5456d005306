"""The render controls (tryons.controls) end to end: what a partner may ask (and every way it can be wrong: a
400 in the seed's error format that charges nothing), what it costs (a render per sample, with the cart's
volume discount), what each renderer is handed (natively where it takes a control, never where it does not),
and what the item answers: every sample's image with its seed, format and size, and engineNotes for what
could not be done."""

import io
from decimal import Decimal

import pytest
from PIL import Image

from infrastructure.storage import storage_read
from organizations.models import CreditLedgerEntry, Organization
from organizations.services import credits_top_up
from tests.tryons.engine_fixtures import start_fake
from tryons import pricing, services
from tryons.controls import CartControls
from tryons.inputs import GarmentInput
from tryons.models import CartTryOnSession, TryOn
from tryons.qualities import QUALITIES
from tryons.renderers.base import PermanentRenderError
from tryons.selectors import cart_session_get
from tryons.serializers.results import CartTryOnSessionSerializer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]


def _balance_matches_ledger(organization):
    balance = Organization.objects.get(pk=organization.id).credits
    ledger = sum(CreditLedgerEntry.objects.filter(organization=organization).values_list("amount", flat=True))
    assert balance == ledger


@pytest.fixture
def post_cart(organization, photo_of, partner_client):
    client = partner_client(organization)
    photo = photo_of(organization)

    def post(cart_id="cart_1", items=None, **fields):
        body = {
            "cartId": cart_id,
            "customerPhotoS3Key": photo.storage_key,
            "renderQuality": "sd",
            "cartItems": items
            or [
                {"productId": "tee", "imageUrl": "https://shop.example/tee.png", "category": "tops"},
                {"productId": "jeans", "imageUrl": "https://shop.example/jeans.png", "category": "bottoms"},
            ],
        }
        return client.post("/api/v1/cart-tryons", {**body, **fields}, format="json")

    return post


BAD = [
    ("garmentPhotoType", "flatlay"),
    ("garmentPhotoType", "MODEL"),
    ("garmentPhotoType", ""),
    ("numSamples", 0),
    ("numSamples", 5),
    ("numSamples", 1.5),
    ("numSamples", True),
    ("numSamples", 10**40),
    ("seed", -1),
    ("seed", 2**32),
    ("seed", "seven"),
    ("seed", 1e300),
    ("seed", [1]),
    ("outputFormat", "gif"),
    ("outputFormat", "JPEG"),
    ("outputFormat", "png\n"),
    ("outputFormat", {"format": "png"}),
]


@pytest.mark.parametrize(("field", "value"), BAD)
@pytest.mark.parametrize("where", ["cart", "item"])
def test_a_control_out_of_range_is_a_400_naming_it_and_charges_nothing(
    post_cart, organization, field, value, where
):
    balance = Organization.objects.get(pk=organization.id).credits
    if where == "cart":
        answer = post_cart(**{field: value})
    else:
        item = {
            "productId": "tee",
            "imageUrl": "https://shop.example/tee.png",
            "category": "tops",
            field: value,
        }
        answer = post_cart(items=[item])
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert body["error"] == "ValidationError" and body["code"] == 400
    assert field in str(body["details"])
    assert Organization.objects.get(pk=organization.id).credits == balance
    assert not CartTryOnSession.objects.filter(organization=organization).exists()


def test_samples_are_priced_as_renders_with_the_carts_volume_discount_and_answered_broken_down(post_cart):
    answer = post_cart(
        numSamples=3,
        seed=41,
        outputFormat="png",
        items=[
            {"productId": "tee", "imageUrl": "https://shop.example/tee.png", "category": "tops"},
            {
                "productId": "jeans",
                "imageUrl": "https://shop.example/jeans.png",
                "category": "bottoms",
                "numSamples": 1,
                "seed": 7,
                "outputFormat": "webp",
                "garmentPhotoType": "model",
            },
        ],
        looks=[{"items": ["tee", "jeans"]}],
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    # 3 + 1 item renders, and the look's second garment (its first is the tee's first sample).
    assert body["pricing"] == {"itemRenders": 4, "lookRenders": 1, "perRender": 1, "discount": 0}
    assert body["creditsRequired"] == 5
    tee, jeans = body["cartItems"]
    assert (tee["numSamples"], tee["seed"], tee["outputFormat"], tee["garmentPhotoType"]) == (
        3,
        41,
        "png",
        "auto",
    )
    assert (jeans["numSamples"], jeans["seed"], jeans["outputFormat"]) == (1, 7, "webp")
    assert jeans["garmentPhotoType"] == "model"
    assert tee["creditsCharged"] == 3 and tee["results"] == [] and tee["engineNotes"] == []
    rows = TryOn.objects.filter(session_id=body["id"]).order_by("position", "sample")
    assert [(row.position, row.sample, row.seed) for row in rows] == [
        (0, 0, 41),
        (0, 1, 42),
        (0, 2, 43),
        (1, 0, 7),
    ]


@pytest.mark.parametrize("item_count", [1, 5, 10, 15, 20])
@pytest.mark.parametrize("quality", sorted(QUALITIES))
def test_the_price_table_of_items_times_samples_and_looks_holds_for_every_discount_tier(
    organization, photo_of, billing_staff, item_count, quality
):
    credits_top_up(organization=organization, amount=500, actor=billing_staff)
    per_render = (
        Decimal("1") * QUALITIES[quality].multiplier * (1 - pricing.volume_discount(item_count))
    ).quantize(Decimal("0.01"))
    samples = [1 + n % 4 for n in range(item_count)]  # 1, 2, 3, 4, 1, ...
    categories = ["tops", "bottoms", "outerwear"]
    items = [
        GarmentInput(
            product_id=f"p{n}",
            image_url=f"https://shop.example/{n}.png",
            category=categories[n % 3],
            num_samples=samples[n],
        )
        for n in range(item_count)
    ]
    looks = [{"items": ["p0", "p1", "p2"]}] if item_count >= 3 else None
    before = Organization.objects.get(pk=organization.id).credits
    session, created = services.cart_session_create(
        organization_id=organization.id,
        cart_id=f"cart_{quality}_{item_count}",
        photo_key=photo_of(organization).storage_key,
        items=items,
        render_quality=quality,
        looks=looks,
    )
    assert created
    renders = sum(samples) + (2 if looks else 0)  # a 3-garment look reuses its first item's render
    assert session.credits_required == (per_render * renders).quantize(Decimal("0.01"))
    assert Organization.objects.get(pk=organization.id).credits == before - session.credits_required
    assert TryOn.objects.filter(session=session).count() == sum(samples)
    assert set(TryOn.objects.filter(session=session).values_list("credits", flat=True)) == {per_render}
    _balance_matches_ledger(organization)


def test_render_items_false_renders_each_item_once_at_most_for_its_looks(post_cart):
    answer = post_cart(numSamples=4, renderItems=False, looks="auto")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["pricing"]["itemRenders"] == 0 and body["pricing"]["lookRenders"] == 2
    assert [item["status"] for item in body["cartItems"]] == ["skipped", "skipped"]
    assert TryOn.objects.filter(session_id=body["id"]).count() == 2


def test_a_replay_with_the_same_controls_is_the_same_session_and_other_controls_a_new_one(
    post_cart, organization
):
    first = post_cart(numSamples=2, seed=5)
    again = post_cart(numSamples=2, seed=5)
    other = post_cart(numSamples=2, seed=6)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert CartTryOnSession.objects.filter(organization=organization).count() == 2


def test_without_a_seed_several_samples_get_a_random_one_in_turn_and_one_sample_none(post_cart):
    body = post_cart(items=None, numSamples=2).json()
    seeds = list(
        TryOn.objects.filter(session_id=body["id"], position=0)
        .order_by("sample")
        .values_list("seed", flat=True)
    )
    assert seeds[0] is not None and seeds[1] == (seeds[0] + 1) % 2**32
    single = post_cart(cart_id="cart_2").json()
    assert set(TryOn.objects.filter(session_id=single["id"]).values_list("seed", flat=True)) == {None}


def test_the_largest_seed_wraps_for_the_next_sample(post_cart):
    body = post_cart(numSamples=2, seed=2**32 - 1).json()
    rows = TryOn.objects.filter(session_id=body["id"], position=0).order_by("sample")
    assert [row.seed for row in rows] == [2**32 - 1, 0]


# --- rendering -----------------------------------------------------------------------------------------


def _cart(
    organization,
    photo_of,
    garment_server,
    *,
    controls,
    items=(("tshirt", "tops"), ("jeans", "bottoms")),
    **extra,
):
    session, created = services.cart_session_create(
        organization_id=organization.id,
        cart_id="cart_r",
        photo_key=photo_of(organization).storage_key,
        items=[
            GarmentInput(
                product_id=name, image_url=garment_server.url(f"/garments/{name}.png"), category=category
            )
            for name, category in items
        ],
        render_quality="sd",
        controls=controls,
        **extra,
    )
    assert created
    return session


def _answer(session):
    return CartTryOnSessionSerializer(
        cart_session_get(organization_id=session.organization_id, session_id=session.id)
    ).data


def _decoded(row) -> Image.Image:
    return Image.open(io.BytesIO(storage_read(row.result_key)))


def test_each_sample_is_rendered_with_its_seed_in_the_format_asked_and_the_item_lists_them(
    organization, photo_of, garment_server, renderer, django_capture_on_commit_callbacks
):
    seen = []
    inner = renderer.inner.render

    def render(request):
        seen.append((request.tryon_id, request.controls.seed, request.controls.output_format))
        return inner(request)

    renderer.inner.render = render
    session = _cart(
        organization,
        photo_of,
        garment_server,
        controls=CartControls(num_samples=3, seed=10, output_format="png", garment_photo_type="flat-lay"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    session.refresh_from_db()
    assert session.status == "completed" and session.progress == 100
    # Every item's first sample before any second one: the shopper sees the whole cart first.
    rows = {row.id: row for row in TryOn.objects.filter(session=session)}
    assert [(rows[t].sample, rows[t].position) for t, _, _ in seen] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]
    assert sorted(seed for _, seed, _ in seen) == [10, 10, 11, 11, 12, 12]

    tee, jeans = _answer(session)["cartItems"]
    assert tee["status"] == "completed" and tee["numSamples"] == 3
    assert [result["seed"] for result in tee["results"]] == [10, 11, 12]
    width, height = QUALITIES["sd"].size
    assert {(r["format"], r["width"], r["height"]) for r in tee["results"]} == {("png", width, height)}
    assert tee["resultUrl"] == tee["results"][0]["url"]
    assert tee["creditsCharged"] == 3 and tee["creditsRefunded"] == 0
    rows = TryOn.objects.filter(session=session)
    assert rows.count() == 6
    for row in rows:
        assert row.result_key.endswith(".png") and _decoded(row).format == "PNG"
    # The local preview has no seed to take and no use for a photo type: the item says so.
    assert {note["code"] for note in tee["engineNotes"]} == {"seed_ignored", "garment_photo_type_ignored"}


def test_a_failed_sample_is_refunded_alone_and_the_item_keeps_the_others(
    organization, photo_of, garment_server, renderer, django_capture_on_commit_callbacks
):
    inner = renderer.inner.render

    def render(request):
        if request.controls.seed == 21:
            raise PermanentRenderError("The engine refused this pose.", code="render_rejected")
        return inner(request)

    renderer.inner.render = render
    session = _cart(organization, photo_of, garment_server, controls=CartControls(num_samples=3, seed=20))
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    session.refresh_from_db()
    assert session.status == "partial"
    tee, jeans = _answer(session)["cartItems"]
    assert tee["status"] == jeans["status"] == "completed" and tee["error"] is None
    assert [r["seed"] for r in tee["results"]] == [20, 22]
    assert tee["creditsRefunded"] == 1 and session.credits_refunded == 2
    refunds = CreditLedgerEntry.objects.filter(
        organization=organization, amount__gt=0, reference__startswith=session.id
    )
    assert sorted(refunds.values_list("reference", flat=True)) == [
        f"{session.id}:item:0:sample:1:failed",
        f"{session.id}:item:1:sample:1:failed",
    ]
    _balance_matches_ledger(organization)


def test_an_item_whose_every_sample_failed_is_failed_with_its_error(
    organization, photo_of, garment_server, renderer, django_capture_on_commit_callbacks
):
    inner = renderer.inner.render

    def render(request):
        if "tshirt" in request.garment_url:
            raise PermanentRenderError("The engine refused this pose.", code="render_rejected")
        return inner(request)

    renderer.inner.render = render
    session = _cart(organization, photo_of, garment_server, controls=CartControls(num_samples=2))
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    tee, jeans = _answer(session)["cartItems"]
    assert tee["status"] == "failed" and tee["error"]["code"] == "render_rejected" and tee["results"] == []
    assert tee["resultUrl"] is None and tee["creditsRefunded"] == tee["creditsCharged"] == 2
    data = CartTryOnSession.objects.get(pk=session.id)
    assert data.status == "partial"
    _balance_matches_ledger(organization)


def test_cancelling_between_samples_refunds_the_samples_not_rendered(
    organization, photo_of, garment_server, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.tryons.conftest import CountingRenderer

    session = None

    def cancel():
        services.cart_session_cancel(organization_id=organization.id, session_id=session.id)

    renderer = CountingRenderer(hook=cancel, at=3)  # both first samples rendered, then the cancel
    monkeypatch.setattr("tryons.services.processing.get_renderer", lambda *name: renderer)
    session = _cart(organization, photo_of, garment_server, controls=CartControls(num_samples=3))
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    session.refresh_from_db()
    assert session.status == "cancelled"
    statuses = dict(TryOn.objects.filter(session=session, sample=0).values_list("position", "status"))
    assert statuses == {0: "completed", 1: "completed"}
    # Four samples not delivered (the one rendering when cancelled included) are refunded together.
    assert session.credits_refunded == 4
    _balance_matches_ledger(organization)


def test_a_look_starts_from_its_items_first_sample(
    organization, photo_of, garment_server, renderer, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("tryons.services.queue.enqueue", lambda task, object_id: queued.append(object_id))
    session = _cart(
        organization,
        photo_of,
        garment_server,
        controls=CartControls(num_samples=2, seed=3),
        looks=[{"items": ["tshirt", "jeans"]}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
        while queued:
            services.tryon_process(tryon_id=queued.pop(0))
    session.refresh_from_db()
    assert session.status == "completed"
    answer = _answer(session)
    (look,) = answer["looks"]
    assert look["status"] == "completed" and look["resultUrl"]
    step = TryOn.objects.get(look__session=session, look_step=1)
    first_jeans = TryOn.objects.get(session=session, position=1, sample=0)
    assert storage_read(step.photo_key) == storage_read(first_jeans.result_key)
    assert step.seed == 3 and answer["pricing"] == {
        "itemRenders": 4,
        "lookRenders": 1,
        "perRender": 1,
        "discount": 0,
    }


# --- hosted engines ------------------------------------------------------------------------------------


def _run_hosted(session, tasks, capture):
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    tasks.run_until_idle()
    session.refresh_from_db()
    return session


def test_fashn_takes_every_control_natively_each_sample_with_its_own_seed(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _cart(
        organization,
        photo_of,
        garment_server,
        items=(("tshirt", "tops"),),
        controls=CartControls(num_samples=2, seed=100, output_format="png", garment_photo_type="flat-lay"),
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    assert session.status == "completed"
    runs = [run["body"]["inputs"] for run in fake.requests_to("POST", "/v1/run")]
    assert sorted(run["seed"] for run in runs) == [100, 101]
    assert {(run["garment_photo_type"], run["output_format"]) for run in runs} == {("flat-lay", "png")}
    assert all("num_samples" not in run for run in runs)  # one render per sample, settled on its own
    (tee,) = _answer(session)["cartItems"]
    assert [r["format"] for r in tee["results"]] == ["png", "png"] and tee["engineNotes"] == []
    rows = TryOn.objects.filter(session=session)
    assert rows.count() == 2
    # FASHN answered PNG itself: stored as it came, byte for byte.
    for row in rows:
        assert _decoded(row).format == "PNG" and row.result_info["model"] == "tryon-v1.6"
    fake.close()


def test_a_format_fashn_cannot_answer_in_is_asked_lossless_and_converted(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _cart(
        organization,
        photo_of,
        garment_server,
        items=(("tshirt", "tops"),),
        controls=CartControls(output_format="webp"),
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    (run,) = fake.requests_to("POST", "/v1/run")
    assert run["body"]["inputs"]["output_format"] == "png" and "seed" not in run["body"]["inputs"]
    (row,) = TryOn.objects.filter(session=session)
    assert row.result_key.endswith(".webp") and _decoded(row).format == "WEBP"
    assert row.result_info["format"] == "webp" and (row.result_info["width"], row.result_info["height"]) == (
        576,
        864,
    )
    fake.close()


def test_without_controls_fashn_is_asked_as_before_and_its_answer_kept(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _cart(
        organization, photo_of, garment_server, items=(("tshirt", "tops"),), controls=CartControls()
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    (run,) = fake.requests_to("POST", "/v1/run")
    inputs = run["body"]["inputs"]
    assert (
        inputs["output_format"] == "jpeg" and inputs["garment_photo_type"] == "auto" and "seed" not in inputs
    )
    (tee,) = _answer(session)["cartItems"]
    assert tee["outputFormat"] is None and tee["results"][0]["format"] == "jpeg" and tee["seed"] is None
    assert tee["engineNotes"] == []
    fake.close()


def test_kolors_is_sent_no_control_it_does_not_take_and_the_item_says_what_was_not_applied(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings, FAL_MODEL="fal-ai/kling/v1-5/kolors-virtual-try-on")
    fake.model = "fal-ai/kling/v1-5/kolors-virtual-try-on"  # strict: any other field would be a 422
    session = _cart(
        organization,
        photo_of,
        garment_server,
        items=(("tshirt", "tops"),),
        controls=CartControls(num_samples=2, seed=9, output_format="png", garment_photo_type="model"),
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    assert session.status == "completed"
    submits = fake.requests_to("POST", "/fal-ai/kling")
    assert len(submits) == 2 and all(
        set(s["body"]) == {"human_image_url", "garment_image_url"} for s in submits
    )
    (tee,) = _answer(session)["cartItems"]
    assert {note["code"] for note in tee["engineNotes"]} == {"seed_ignored", "garment_photo_type_ignored"}
    assert [r["format"] for r in tee["results"]] == ["png", "png"]  # fal's JPEG, converted
    fake.close()


def test_leffa_on_fal_gets_the_seed_and_format_it_takes_and_nothing_else(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fal", monkeypatch, settings)
    session = _cart(
        organization,
        photo_of,
        garment_server,
        items=(("tshirt", "tops"),),
        controls=CartControls(seed=4, output_format="jpeg", garment_photo_type="flat-lay"),
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    (submit,) = fake.requests_to("POST", "/fal-ai/leffa")
    assert submit["body"]["seed"] == 4 and submit["body"]["output_format"] == "jpeg"
    assert "garment_photo_type" not in submit["body"]
    (tee,) = _answer(session)["cartItems"]
    assert [note["code"] for note in tee["engineNotes"]] == ["garment_photo_type_ignored"]
    fake.close()


def test_replicate_gets_the_seed(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("replicate", monkeypatch, settings)
    session = _cart(
        organization, photo_of, garment_server, items=(("tshirt", "tops"),), controls=CartControls(seed=77)
    )
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    assert session.status == "completed"
    (create,) = fake.requests_to("POST", "/v1/")
    assert create["body"]["input"]["seed"] == 77 and "output_format" not in create["body"]["input"]
    fake.close()


def test_the_readmes_table_of_what_each_renderer_honours_is_the_registrys():
    from django.conf import settings

    from tryons.controls import control_support
    from tryons.renderers.registry import RENDERERS

    section = (settings.BASE_DIR / "README.md").read_text().split("### Render controls")[1].split("\n## ")[0]
    table = {
        cells[0]: cells[1:4]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| Renderer")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    declared = {}
    for kind in RENDERERS.values():
        targets = (
            [(f"{kind.name} `{m.name}`", m.honours) for m in kind.models]
            if kind.engine
            else [(kind.name, kind.honours)]
        )
        for name, honours in targets:
            support = control_support(honours)
            formats = ", ".join(f for f, how in support["outputFormat"].items() if how == "native")
            declared[name] = [support["garmentPhotoType"], support["seed"], formats]
    assert table == declared


def test_a_renderer_answer_that_is_no_image_fails_the_item_refunded_instead_of_being_delivered(
    organization, photo_of, garment_server, renderer, django_capture_on_commit_callbacks
):
    from tryons.renderers.base import RenderResult

    renderer.inner.render = lambda request: RenderResult(
        image=b"<html>oops</html>", content_type="image/jpeg"
    )
    session = _cart(
        organization, photo_of, garment_server, items=(("tshirt", "tops"),), controls=CartControls()
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=session.id)
    (row,) = TryOn.objects.filter(session=session)
    assert (row.status, row.error_code, row.result_key) == ("failed", "render_invalid", "")
    assert row.credits_refunded == row.credits
    _balance_matches_ledger(organization)


def test_a_result_of_absurdly_many_pixels_is_refused_before_it_is_decoded():
    from tests.images import image_bytes
    from tryons.controls import ResultUnusable, result_encode

    bomb = image_bytes(fmt="PNG", size=(8000, 6000), mode="1", color=0, optimize=True)
    assert len(bomb) < 100_000
    with pytest.raises(ResultUnusable, match="too many pixels"):
        result_encode(bomb, "jpeg")


@pytest.mark.parametrize("asked", ["jpeg", "png", "webp", ""])
@pytest.mark.parametrize("given", ["JPEG", "PNG", "WEBP"])
def test_a_result_is_delivered_in_the_format_asked_or_as_it_came(asked, given):
    from tests.images import image_bytes
    from tryons.controls import result_encode

    image = image_bytes(fmt=given, size=(30, 40), mode="RGBA" if given != "JPEG" else "RGB")
    encoded = result_encode(image, asked)
    expected = asked or {"JPEG": "jpeg", "PNG": "png", "WEBP": "png"}[given]
    assert encoded.format.name == expected and (encoded.width, encoded.height) == (30, 40)
    assert Image.open(io.BytesIO(encoded.image)).format == encoded.format.pillow
    if expected == given.lower():
        assert encoded.image == image, "already in the format asked: delivered byte for byte"


def test_the_staff_console_counts_a_sample_after_its_item():
    from tryons.admin import item_label

    assert item_label(TryOn(position=2, sample=0)) == "3"
    assert item_label(TryOn(position=2, sample=1)) == "3 · sample 2"


def test_a_hosted_batch_downloads_each_garment_once_for_all_its_samples(
    organization, photo_of, garment_server, monkeypatch, settings, tasks, django_capture_on_commit_callbacks
):
    fake = start_fake("fashn", monkeypatch, settings)
    session = _cart(organization, photo_of, garment_server, controls=CartControls(num_samples=3))
    session = _run_hosted(session, tasks, django_capture_on_commit_callbacks)
    assert session.status == "completed" and len(fake.requests_to("POST", "/v1/run")) == 6
    assert sorted(garment_server.hits) == ["/garments/jeans.png", "/garments/tshirt.png"]
    fake.close()
