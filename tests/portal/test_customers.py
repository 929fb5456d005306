"""The portal's customers and cart try-on sessions: read-only lists paged by cursor, a session's items and
results with thumbnails through the API's expiring signed URLs (never storage keys), and only ever the
organization (and mode) the member is acting as."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from customers.models import Customer
from infrastructure.storage import storage_save
from organizations import services
from tests.factories import make_photo_row
from tests.images import person_jpeg
from tryons.models import CartTryOnSession, TryOn

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "billing", "viewer"]


@pytest.fixture(autouse=True)
def embedded_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.S3_BUCKET_NAME = ""


def _customer(organization, external_id, photo_key=None) -> Customer:
    customer = Customer.objects.create(organization=organization, external_id=external_id, name="Jo")
    if photo_key:
        make_photo_row(customer, photo_key)
    return customer


def _session(organization, cart_id="cart_1", status=CartTryOnSession.Status.COMPLETED, customer=None):
    """A session row with one completed item (its result stored) and one failed item."""
    customer = customer or _customer(
        organization, f"ext_{cart_id}", f"photos/{organization.pk}/{cart_id}.jpg"
    )
    session = CartTryOnSession.objects.create(
        organization=organization,
        customer=customer,
        photo_key=f"photos/{organization.pk}/{cart_id}.jpg",
        cart_id=cart_id,
        status=status,
        render_quality="sd",
        content_hash="0" * 64,
        item_count=2,
        credits_required=2,
    )
    result_key = f"results/{organization.pk}/{session.pk}-0.jpg"
    storage_save(result_key, person_jpeg())
    common = {
        "organization": organization,
        "session": session,
        "customer": customer,
        "image_url": "https://shop.example/garment.jpg",
        "category": "tops",
        "render_quality": "sd",
        "credits": Decimal("1"),
    }
    TryOn.objects.create(
        **common, position=0, product_id="prod_shirt", status="completed", result_key=result_key
    )
    TryOn.objects.create(
        **common, position=1, product_id="prod_hat", status="failed", error_code="RenderFailed", error="No."
    )
    return session


def _session_ids(response) -> list[str]:
    return re.findall(r'href="/portal/sessions/([^/"]+)/"', response.content.decode())


def _external_ids(response) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td><td>Jo", response.content.decode())


def test_every_role_reads_customers_sessions_and_a_session(organization, owner, member_of, portal_client):
    session = _session(organization)
    users = {"owner": owner} | {role: member_of(organization, role=role) for role in ROLES[1:]}
    for role in ROLES:
        client = portal_client(users[role])
        for url in ("/portal/customers/", "/portal/sessions/", f"/portal/sessions/{session.pk}/"):
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert 'method="post"' not in response.content.decode().split('<main id="content">')[1]


def test_customers_show_their_photo_through_a_signed_url_never_the_storage_key(
    organization, owner, portal_client
):
    _customer(organization, "ext_ann", "enterprise/secret-folder/ann.jpg")
    _customer(organization, "ext_bob")
    page = portal_client(owner).get("/portal/customers/")
    text = page.content.decode()
    assert _external_ids(page) == ["ext_bob", "ext_ann"]
    [photo_url] = re.findall(r'<img class="thumb" src="([^"]+)"', text)
    assert "signature=" in photo_url and "expires=" in photo_url
    assert 'enterprise/secret-folder/ann.jpg"' not in text and ">enterprise/" not in text


def test_a_session_shows_its_items_and_results_as_signed_thumbnails_that_load(
    organization, owner, portal_client
):
    session = _session(organization)
    client = portal_client(owner)
    page = client.get(f"/portal/sessions/{session.pk}/")
    text = page.content.decode()
    assert "prod_shirt" in text and "prod_hat" in text and "RenderFailed" in text
    thumbnails = re.findall(r'<img class="thumb" src="([^"]+)" alt="Result', text)
    assert len(thumbnails) == 1
    signed = urlsplit(thumbnails[0].replace("&amp;", "&"))
    assert "signature=" in signed.query
    image = client.get(f"{signed.path}?{signed.query}")
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    # The customer's photo too, through its own signed link; no storage key is printed anywhere.
    assert re.search(r'<img class="thumb" src="[^"]+signature=[^"]+" alt="Customer photo"', text)
    assert f">{session.photo_key}<" not in text and "results/" not in text.replace(signed.path, "")


def test_sessions_filter_by_status_as_the_api_does(organization, owner, portal_client):
    done = _session(organization, "cart_done")
    failed = _session(organization, "cart_failed", status=CartTryOnSession.Status.FAILED)
    client = portal_client(owner)
    assert _session_ids(client.get("/portal/sessions/")) == [failed.pk, done.pk]
    assert _session_ids(client.get("/portal/sessions/?status=failed")) == [failed.pk]
    refused = client.get("/portal/sessions/?status=lost")
    assert refused.status_code == 400
    assert "status: Must be one of queued, processing" in refused.content.decode()
    for odd in ("%01", "x" * 300, "completed%0A"):
        assert client.get(f"/portal/sessions/?status={odd}").status_code == 400


def test_many_customers_and_sessions_page_by_cursor_following_older(organization, owner, portal_client):
    customers = [_customer(organization, f"ext_{n:03d}") for n in range(110)]
    CartTryOnSession.objects.bulk_create(
        [
            CartTryOnSession(
                organization=organization,
                customer=customers[n],
                cart_id=f"cart_{n:03d}",
                status="queued",
                render_quality="sd",
                content_hash="0" * 64,
                item_count=1,
                credits_required=1,
            )
            for n in range(110)
        ]
    )
    client = portal_client(owner)
    for start, read in (
        ("/portal/customers/", _external_ids),
        ("/portal/sessions/?status=queued", _session_ids),
    ):
        seen, url, pages = [], start, 0
        while url:
            response = client.get(url)
            assert response.status_code == 200
            seen += read(response)
            pages += 1
            older = re.search(r'href="(/portal/[a-z]+/\?[^"]+)" rel="next"', response.content.decode())
            url = older.group(1).replace("&amp;", "&") if older else None
        assert pages == 3, start
        assert len(seen) == 110 and len(set(seen)) == 110, start
    assert _external_ids(client.get("/portal/customers/"))[0] == "ext_109"


def test_another_organizations_customers_and_sessions_never_appear(
    organization, other_organization, owner, portal_client
):
    mine = _session(organization, "cart_mine")
    theirs = _session(other_organization, "cart_theirs")
    client = portal_client(owner)
    assert _session_ids(client.get("/portal/sessions/")) == [mine.pk]
    assert _session_ids(client.get(f"/portal/sessions/?after={theirs.pk}")) == [mine.pk]
    assert _external_ids(client.get("/portal/customers/")) == ["ext_cart_mine"]
    assert client.get(f"/portal/sessions/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("session_id", ["cts_" + "x" * 96, "x" * 300, "cts%01", "%E2%80%AE", "cts_missing"])
def test_odd_session_ids_are_the_404_page(organization, owner, portal_client, session_id):
    response = portal_client(owner).get(f"/portal/sessions/{session_id}/")
    assert response.status_code == 404
    assert "<h1" in response.content.decode()  # the portal's page, not the API's JSON


def test_test_mode_shows_the_sandboxs_customers_and_sessions_only(organization, owner, portal_client):
    live = _session(organization, "cart_live")
    sandbox = services.organization_sandbox(organization=organization)
    test = _session(sandbox, "cart_test")
    client = portal_client(owner)
    client.post("/portal/mode", {"mode": "test"})
    assert _session_ids(client.get("/portal/sessions/")) == [test.pk]
    assert _external_ids(client.get("/portal/customers/")) == ["ext_cart_test"]
    assert client.get(f"/portal/sessions/{live.pk}/").status_code == 404
    assert client.get(f"/portal/sessions/{test.pk}/").status_code == 200
