import pytest

from api.ids import new_id
from customers.models import Customer, Photo
from infrastructure.storage import storage_save
from tests.http_servers import GarmentServer
from tests.images import person_jpeg
from tests.tryons.catalogue_fixtures import fetches  # noqa: F401 (a fixture)
from tests.tryons.engine_fixtures import _fresh_engine_settings, engine, tasks  # noqa: F401 (fixtures)
from tryons import services
from tryons.renderers import get_renderer


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.S3_BUCKET_NAME = ""
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr("tryons.services.processing.RENDER_BACKOFF_SECONDS", (0.01, 0.01))


@pytest.fixture
def allow_private(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


def make_photo(organization, external_id=None) -> Photo:
    """A real stored photo of a new customer of `organization` (bench/ uses it too)."""
    customer = Customer.objects.create(organization=organization, external_id=external_id or new_id("ext"))
    photo_id = new_id("photo")
    key = f"enterprise/org-{organization.id}/photos/{photo_id}.jpg"
    data = person_jpeg()
    storage_save(key, data)
    return Photo.objects.create(
        id=photo_id,
        organization=organization,
        customer=customer,
        storage_key=key,
        content_type="image/jpeg",
        width=600,
        height=900,
        size_bytes=len(data),
    )


@pytest.fixture
def photo_of():
    """`make_photo`, as a fixture."""
    return make_photo


@pytest.fixture
def make_cart_session(organization, photo_of):
    """A cart session of `organization` created through the service, one "tops" item per garment URL
    (products prod_1, prod_2, ...), on `photo` or a new customer's photo."""

    def make(urls, *, quality="sd", cart_id="cart_1", photo=None):
        session, created = services.cart_session_create(
            organization_id=organization.id,
            cart_id=cart_id,
            photo_key=(photo or photo_of(organization)).storage_key,
            items=[
                services.GarmentInput(
                    product_id=f"prod_{n}", variant_id=f"var_{n}", image_url=url, category="tops"
                )
                for n, url in enumerate(urls, start=1)
            ],
            render_quality=quality,
        )
        assert created
        return session

    return make


@pytest.fixture
def make_tryon(organization, photo_of):
    """A single try-on of `organization` created through the service, for the garment at `url` (product
    prod_1), on `photo` or a new customer's photo; `options` go to the service (render_quality...)."""

    def make(url, *, category="tops", photo=None, **options):
        return services.tryon_create(
            organization_id=organization.id,
            photo_key=(photo or photo_of(organization)).storage_key,
            garment=services.GarmentInput(
                product_id="prod_1", variant_id="var_1", image_url=url, category=category
            ),
            **options,
        )

    return make


@pytest.fixture
def renderer(monkeypatch):
    """A CountingRenderer that processing uses instead of the configured renderer."""
    renderer = CountingRenderer()
    monkeypatch.setattr("tryons.services.processing.get_renderer", lambda *name: renderer)
    return renderer


class CountingRenderer:
    """The real local renderer, counting calls (and keeping each garment image it was given), with an
    optional `hook` run inside render call `at`."""

    name = "local"

    def __init__(self, hook=None, at=1):
        self.inner = get_renderer("local")
        self.calls: list[str] = []
        self.garments: list[bytes] = []
        self.hook, self.at = hook, at

    def render(self, request):
        self.calls.append(request.tryon_id)
        self.garments.append(request.garment_image)
        if self.hook and len(self.calls) == self.at:
            self.hook()
        return self.inner.render(request)


@pytest.fixture
def garment_server():
    server = GarmentServer()
    yield server
    server.close()


def cart_item(url: str, n: int = 1, category: str = "tops") -> dict:
    return {
        "productId": f"prod_{n:03d}",
        "variantId": f"var_{n}",
        "name": f"Garment {n}",
        "imageUrl": url,
        "category": category,
        "quantity": 2,
        "price": "29.99",
        "currency": "USD",
    }
