"""The portal's usage page: daily and hourly charts and the breakdowns by key, route and status class, from
the same usage summary the API answers, for the organization (and mode) the member is acting as."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.portal.records import store_requests

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "billing", "viewer"]


def _section(page: str, section_id: str) -> str:
    return page.split(f'id="{section_id}"', 1)[1].split('<div class="card"', 1)[0]


def _figure(page: str, section_id: str) -> str:
    return re.search(rf'id="{section_id}">([^<]*)<', page).group(1)


def test_every_role_reads_usage(organization, owner, member_of, portal_client, api_key_for):
    key, _ = api_key_for(organization)
    store_requests(key, 3)
    users = {"owner": owner} | {role: member_of(organization, role=role) for role in ROLES[1:]}
    for role in ROLES:
        response = portal_client(users[role]).get("/portal/usage/")
        assert response.status_code == 200, role
        assert _figure(response.content.decode(), "requests-total") == "3"


def test_charts_and_breakdowns_by_key_route_and_status(organization, owner, portal_client, api_key_for):
    shop, _ = api_key_for(organization, name="Storefront")
    office, _ = api_key_for(organization, name="Back office")
    store_requests(shop, 4, route="/api/v1/cart-tryons", method="POST")
    store_requests(shop, 2, status_code=404, route="/api/v1/customers/{externalId}")
    store_requests(office, 1, status_code=503, at=timezone.now() - timedelta(days=3))
    page = portal_client(owner).get("/portal/usage/").content.decode()

    assert _figure(page, "requests-total") == "7"
    assert page.count("<svg") == 3  # requests by day, errors by day, requests by hour
    assert "Requests per day, last 30 days" in page and "Requests per hour, last 48 hours" in page
    statuses = _section(page, "by-status")
    assert re.findall(r"status=(\dxx)\">\dxx</a></td><td>(\d+)<", statuses) == [
        ("2xx", "4"),
        ("3xx", "0"),
        ("4xx", "2"),
        ("5xx", "1"),
    ]
    keys = _section(page, "by-key")
    assert re.findall(r"<code>(key_[^<]+)</code></a> ([^<]+)</td><td>(\d+)</td><td>(\d+)<", keys) == [
        (shop.pk, "Storefront", "6", "2"),
        (office.pk, "Back office", "1", "1"),
    ]
    routes = _section(page, "by-route")
    assert "POST /api/v1/cart-tryons</code></a></td><td>4</td><td>0<" in routes
    assert "GET /api/v1/customers/{externalId}</code></a></td><td>2</td><td>2<" in routes
    # The request three days ago is in the daily chart's 30 days, not in the hourly chart's 48 hours.
    hourly = _section(page, "hourly-chart")
    assert sum(int(n) for n in re.findall(r": (\d+)</title>", hourly)) == 6


def test_another_organizations_usage_is_never_counted(
    organization, other_organization, owner, portal_client, api_key_for
):
    theirs, _ = api_key_for(other_organization, name="Rival key")
    store_requests(theirs, 5)
    page = portal_client(owner).get("/portal/usage/").content.decode()
    assert _figure(page, "requests-total") == "0"
    assert theirs.pk not in page and "Rival key" not in page


def test_test_mode_counts_the_sandboxs_usage_only(organization, owner, portal_client, api_key_for):
    live, _ = api_key_for(organization)
    test, _ = api_key_for(organization, mode="test")
    store_requests(live, 5)
    store_requests(test, 2)
    client = portal_client(owner)
    assert _figure(client.get("/portal/usage/").content.decode(), "requests-total") == "5"
    client.post("/portal/mode", {"mode": "test"})
    page = client.get("/portal/usage/").content.decode()
    assert _figure(page, "requests-total") == "2"
    assert test.pk in page and live.pk not in page


def test_usage_has_nothing_to_post(organization, member_of, portal_client):
    viewer = member_of(organization, role="viewer")
    page = portal_client(viewer).get("/portal/usage/").content.decode()
    assert 'method="post"' not in page.split('<main id="content">')[1]
