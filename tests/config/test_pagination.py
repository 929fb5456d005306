"""Every list's pagination (api/pagination.py), through the customers list and the ledger."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.pagination import EXACT_TOTAL_MAX, MAX_OFFSET
from customers.models import Customer

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def make_customers(organization, count, same_time=False):
    start = timezone.now() - timedelta(days=1)
    Customer.objects.bulk_create(
        Customer(organization=organization, external_id=f"c{n:05d}") for n in range(count)
    )
    # Distinct times (oldest first), or all one time to exercise the id tie-break.
    for n, customer in enumerate(Customer.objects.filter(organization=organization).order_by("external_id")):
        Customer.objects.filter(pk=customer.pk).update(
            created_at=start if same_time else start + timedelta(seconds=n)
        )
    return list(Customer.objects.filter(organization=organization).order_by("-created_at", "-id"))


def external_ids(page):
    return [row["externalId"] for row in page["data"]]


@pytest.mark.parametrize("same_time", [False, True])
def test_cursor_pages_walk_the_whole_list_once_in_both_directions(organization, partner_client, same_time):
    expected = [c.external_id for c in make_customers(organization, 7, same_time=same_time)]
    client = partner_client(organization)
    seen, params = [], {"limit": 3}
    pages = []
    while True:
        page = client.get(URL, params).json()
        pages.append(page)
        seen += external_ids(page)
        assert page["offset"] is None or page["offset"] == 0
        if not page["hasMore"]:
            break
        params = {"limit": 3, "startingAfter": page["data"][-1]["id"]}
    assert seen == expected and len(pages) == 3
    assert all(page["total"] == 7 and page["totalIsEstimate"] is False for page in pages)

    back = client.get(URL, {"limit": 3, "endingBefore": pages[2]["data"][0]["id"]}).json()
    assert external_ids(back) == external_ids(pages[1]) and back["hasMore"] is True
    first = client.get(URL, {"limit": 3, "endingBefore": pages[1]["data"][0]["id"]}).json()
    assert external_ids(first) == external_ids(pages[0]) and first["hasMore"] is False


def test_a_row_created_between_pages_neither_repeats_nor_shifts_the_next_page(organization, partner_client):
    expected = [c.external_id for c in make_customers(organization, 4)]
    client = partner_client(organization)
    first = client.get(URL, {"limit": 2}).json()
    client.post(URL, {"externalId": "newcomer"}, format="json")
    second = client.get(URL, {"limit": 2, "startingAfter": first["data"][-1]["id"]}).json()
    assert external_ids(first) + external_ids(second) == expected


def test_offsets_still_page_for_seed_clients(organization, partner_client):
    expected = [c.external_id for c in make_customers(organization, 5)]
    page = partner_client(organization).get(URL, {"limit": 2, "offset": 2}).json()
    assert external_ids(page) == expected[2:4]
    assert page["offset"] == 2 and page["hasMore"] is True and page["total"] == 5


def test_an_offset_beyond_the_bound_is_refused_with_a_pointer_to_the_cursor(organization, partner_client):
    client = partner_client(organization)
    assert client.get(URL, {"offset": MAX_OFFSET}).status_code == 200
    response = client.get(URL, {"offset": MAX_OFFSET + 1})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "ValidationError"
    assert "startingAfter" in body["details"]["offset"][0]


@pytest.mark.parametrize(
    "params",
    [
        {"startingAfter": "cust_a", "endingBefore": "cust_b"},
        {"startingAfter": "cust_a", "offset": "5"},
        {"startingAfter": "cust_doesnotexist"},
        {"endingBefore": "cust_doesnotexist"},
    ],
)
def test_bad_cursors_are_a_validation_error(organization, partner_client, params):
    make_customers(organization, 2)
    response = partner_client(organization).get(URL, params)
    assert response.status_code == 400 and response.json()["error"] == "ValidationError"


def test_another_organizations_id_is_not_a_cursor_and_reveals_nothing(
    organization, other_organization, partner_client
):
    make_customers(organization, 2)
    theirs = make_customers(other_organization, 2)
    response = partner_client(organization).get(URL, {"startingAfter": theirs[0].id})
    unknown = partner_client(organization).get(URL, {"startingAfter": "cust_" + "x" * 22})
    assert response.status_code == unknown.status_code == 400
    assert response.json()["message"].replace(theirs[0].id, "ID") == unknown.json()["message"].replace(
        "cust_" + "x" * 22, "ID"
    )


def test_total_is_exact_up_to_the_bound_then_an_estimate_flagged_as_such(organization, partner_client):
    from django.db import connection

    make_customers(organization, EXACT_TOTAL_MAX)
    client = partner_client(organization)
    page = client.get(URL).json()
    assert page["total"] == EXACT_TOTAL_MAX and page["totalIsEstimate"] is False
    Customer.objects.create(organization=organization, external_id="one-more")
    page = client.get(URL).json()
    if connection.vendor == "postgresql":
        assert page["totalIsEstimate"] is True and page["total"] > EXACT_TOTAL_MAX
    else:  # no planner estimate on SQLite (the embedded mode): an exact count
        assert page["totalIsEstimate"] is False and page["total"] == EXACT_TOTAL_MAX + 1
    assert page["hasMore"] is True and len(page["data"]) == 20


def test_ledger_pages_with_cursors_too(organization, owner, jwt_client):
    from organizations import services

    for n in range(3):
        services.credits_charge(organization_id=organization.id, amount="1.00", reference=f"cts_{n}")
    client = jwt_client(owner)
    url = f"/api/organizations/{organization.id}/credits"
    everything = client.get(url).json()["data"]
    first = client.get(url, {"limit": 2}).json()
    rest = client.get(url, {"limit": 2, "startingAfter": first["data"][-1]["id"]}).json()
    assert [e["id"] for e in first["data"] + rest["data"]] == [e["id"] for e in everything]


# Found by the bounded fuzzing in .ci/e2e: ids that cannot name a row of the list were a 500 on integer-keyed
# lists (ledger entries, key events, import errors).
@pytest.mark.parametrize("cursor", ["ïÒC¶\x94Ü_", "-1.5e-207", "99999999999999999999999999", "12abc"])
@pytest.mark.parametrize("param", ["startingAfter", "endingBefore"])
def test_a_cursor_that_cannot_be_an_id_is_a_validation_error_on_every_kind_of_list(
    organization, owner, jwt_client, partner_client, cursor, param
):
    from organizations import services

    make_customers(organization, 2)
    services.credits_charge(organization_id=organization.id, amount="1.00", reference="cts_1")
    for response in (
        partner_client(organization).get(URL, {param: cursor}),
        partner_client(organization).get("/api/v1/account/ledger", {param: cursor}),
        jwt_client(owner).get(f"/api/organizations/{organization.id}/credits", {param: cursor}),
    ):
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["error"] == "ValidationError" and param in body["details"]
