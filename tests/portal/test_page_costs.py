"""Portal pages cost the same on a large organization as on a small one: the queries a page runs do not grow
with its rows (no query per row), and a page deep in a list reads no more than the first (cursor paging)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import services as apikeys
from customers.models import Customer
from tests.portal.records import store_requests
from tryons.models import CartTryOnSession

pytestmark = pytest.mark.django_db


def _rows(organization, count: int):
    key, _ = apikeys.apikey_create(organization=organization, name=f"key {count}", scopes=["all"])
    store_requests(key, count)
    start = Customer.objects.filter(organization=organization).count()
    for n in range(start, start + count):
        customer = Customer.objects.create(organization=organization, external_id=f"shopper-{n}", name="Jo")
        CartTryOnSession.objects.create(
            organization=organization,
            customer=customer,
            photo_key=f"photos/{organization.pk}/{n}.jpg",
            cart_id=f"cart-{n}",
            status="processing",
            render_quality="sd",
            content_hash="0" * 64,
            item_count=1,
            credits_required=1,
        )


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "path",
    [
        "/portal/",
        "/portal/logs/",
        "/portal/customers/",
        "/portal/sessions/",
        "/portal/usage/",
        "/portal/keys/",
        "/portal/credits/",
    ],
)
def test_a_page_runs_as_many_queries_with_many_rows_as_with_few(path, organization, owner, portal_client):
    client = portal_client(owner)
    _rows(organization, 3)
    _queries(client, path)  # the session's first writes after signing in are not the page's
    few = _queries(client, path)
    _rows(organization, 57)
    assert _queries(client, path) == few


def test_a_deep_page_reads_no_more_than_the_first(organization, owner, portal_client):
    import re

    client = portal_client(owner)
    _rows(organization, 130)
    first = _queries(client, "/portal/sessions/")
    page = client.get("/portal/sessions/").content.decode()
    older = re.search(r'href="(/portal/sessions/\?[^"]*after=[^"]+)"', page).group(1).replace("&amp;", "&")
    assert _queries(client, older) <= first + 1  # + the cursor's own row
