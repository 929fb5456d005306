"""The portal's request log: the API's filters read by the API's rules, cursor paging, one request's
detail, and only ever the log of the organization (and mode) the member is acting as."""

import re

import pytest

from organizations.models import Membership
from tests.portal.records import store_requests
from usage import selectors as usage_selectors

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "billing", "viewer"]


def _request_ids(response) -> list[str]:
    return re.findall(r"<code>(req_[^<]+)</code></a>", response.content.decode())


def test_every_role_reads_the_log_with_its_entries(
    organization, owner, member_of, portal_client, api_key_for
):
    key, _ = api_key_for(organization)
    [request_id] = store_requests(key, status_code=404, error_code="ResourceNotFound")
    users = {"owner": owner} | {role: member_of(organization, role=role) for role in ROLES[1:]}
    for role in ROLES:
        response = portal_client(users[role]).get("/portal/logs/")
        assert response.status_code == 200, role
        assert _request_ids(response) == [request_id]
        assert "ResourceNotFound" in response.content.decode()


def test_filters_are_the_apis_status_class_key_route_and_dates(
    organization, owner, portal_client, api_key_for
):
    key, _ = api_key_for(organization, name="Shop")
    other_key, _ = api_key_for(organization, name="Back office")
    [missing] = store_requests(key, status_code=404, request_id="req_missing")
    [failed] = store_requests(key, status_code=503, route="/api/v1/cart-tryons", request_id="req_failed")
    [ok] = store_requests(other_key, request_id="req_ok")
    client = portal_client(owner)

    assert set(_request_ids(client.get("/portal/logs/?status=4xx"))) == {missing}
    assert set(_request_ids(client.get("/portal/logs/?status=404"))) == {missing}
    assert set(_request_ids(client.get("/portal/logs/?status=5XX"))) == {failed}
    assert set(_request_ids(client.get(f"/portal/logs/?keyId={other_key.pk}"))) == {ok}
    assert set(_request_ids(client.get("/portal/logs/?route=/api/v1/cart-tryons"))) == {failed}
    assert set(_request_ids(client.get("/portal/logs/?from=2000-01-01&to=9999-01-01"))) == {
        missing,
        failed,
        ok,
    }
    assert _request_ids(client.get("/portal/logs/?to=2000-01-01")) == []


@pytest.mark.parametrize(
    "query",
    [
        "status=4x",
        "status=600",
        "status=%01",
        "from=0001-01-01T00:00:00%2B23:59",
        "to=9999-12-31T23:59:59-23:59",
        "from=9999-12-31",
        "from=yesterday",
        "from=2026-02-30",
        "to=" + "9" * 300,
        "keyId=" + "k" * 100,
        "route=/api/v1/%1B[31m",
        "route=" + "r" * 300,
    ],
)
def test_bad_filters_get_a_clear_message_never_a_500(organization, owner, portal_client, api_key_for, query):
    key, _ = api_key_for(organization)
    store_requests(key)
    response = portal_client(owner).get(f"/portal/logs/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="filter-problem"' in page and "Not shown." in page
    assert _request_ids(response) == []


def test_a_key_id_no_key_has_finds_nothing_as_in_the_api(organization, owner, portal_client, api_key_for):
    key, _ = api_key_for(organization)
    store_requests(key)
    response = portal_client(owner).get("/portal/logs/?keyId=key%0D%0Ax")
    assert response.status_code == 200 and _request_ids(response) == []


def test_a_nul_anywhere_is_refused_before_the_page(organization, owner, portal_client):
    for url in ("/portal/logs/?status=%00", "/portal/logs/?route=%00", "/portal/logs/req%00/"):
        assert portal_client(owner).get(url).status_code in (400, 404), url


def test_a_bad_date_is_told_as_the_api_tells_it(organization, owner, portal_client):
    page = portal_client(owner).get("/portal/logs/?from=0001-01-01").content.decode()
    assert "from: An ISO-8601 date" in page and "between 0001-01-02" in page


def test_many_entries_page_by_cursor_following_older(organization, owner, portal_client, api_key_for):
    key, _ = api_key_for(organization)
    ids = store_requests(key, 120, status_code=404)
    store_requests(key, 3, status_code=200, request_id="req_ok")  # filtered out on every page
    client = portal_client(owner)
    seen = []
    url = "/portal/logs/?status=404"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += _request_ids(response)
        pages += 1
        older = re.search(r'href="(/portal/logs/\?[^"]+)" rel="next"', response.content.decode())
        url = older.group(1).replace("&amp;", "&") if older else None
        if url:
            assert "status=404" in url and "after=log_" in url
    assert pages == 3
    assert seen == ids  # newest first, each once, none of the filtered-out ones
    assert "Newest" in response.content.decode()


def test_one_request_is_found_by_its_request_id_or_its_entry_id(
    organization, owner, portal_client, api_key_for
):
    key, _ = api_key_for(organization)
    [request_id] = store_requests(key, status_code=403, error_code="InsufficientCredits")
    entry = usage_selectors.request_log_entry(organization_id=organization.pk, request_id=request_id)
    client = portal_client(owner)
    for wanted in (request_id, usage_selectors.log_entry_id(entry)):
        page = client.get(f"/portal/logs/{wanted}/")
        assert page.status_code == 200
        assert "InsufficientCredits" in page.content.decode() and request_id in page.content.decode()
    found = client.get(f"/portal/logs/?id={request_id}")
    assert found.status_code == 302 and found["Location"] == f"/portal/logs/{request_id}/"


def test_another_organizations_requests_never_appear(
    organization, other_organization, owner, portal_client, api_key_for
):
    mine, _ = api_key_for(organization)
    theirs, _ = api_key_for(other_organization)
    [my_id] = store_requests(mine, request_id="req_mine")
    [their_id] = store_requests(theirs, request_id="req_theirs")
    their_entry = usage_selectors.request_log_entry(
        organization_id=other_organization.pk, request_id=their_id
    )
    client = portal_client(owner)
    assert _request_ids(client.get("/portal/logs/")) == [my_id]
    assert _request_ids(client.get(f"/portal/logs/?keyId={theirs.pk}")) == []
    assert client.get(f"/portal/logs/{their_id}/").status_code == 404
    assert client.get(f"/portal/logs/{usage_selectors.log_entry_id(their_entry)}/").status_code == 404
    # Their entry's id as a cursor names no place in this log: the first page.
    assert _request_ids(client.get(f"/portal/logs/?after={usage_selectors.log_entry_id(their_entry)}")) == [
        my_id
    ]


@pytest.mark.parametrize("wanted", ["x" * 100, "x" * 300, "req%01", "log_" + "A" * 22, "%E2%80%AE"])
def test_odd_ids_are_the_404_page(organization, owner, portal_client, wanted):
    assert portal_client(owner).get(f"/portal/logs/{wanted}/").status_code == 404


def test_test_mode_shows_the_sandboxs_log_only(organization, owner, portal_client, api_key_for):
    live, _ = api_key_for(organization)
    test, _ = api_key_for(organization, mode="test")
    [live_id] = store_requests(live, request_id="req_live")
    [test_id] = store_requests(test, request_id="req_test")
    client = portal_client(owner)
    assert _request_ids(client.get("/portal/logs/")) == [live_id]
    client.post("/portal/mode", {"mode": "test"})
    page = client.get("/portal/logs/")
    assert _request_ids(page) == [test_id]
    assert test.name in page.content.decode()  # the key filter offers the mode's keys
    assert client.get(f"/portal/logs/{live_id}/").status_code == 404
    assert client.get(f"/portal/logs/{test_id}/").status_code == 200


def test_the_log_has_nothing_to_post(organization, member_of, portal_client):
    viewer = member_of(organization, role=Membership.Role.VIEWER)
    page = portal_client(viewer).get("/portal/logs/").content.decode()
    assert 'method="post"' not in page.split('<main id="content">')[1]
