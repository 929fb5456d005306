"""Every list's queries, as the API runs them, are index walks: none reads an organization's rows in full.

Our organization and a rival three times its size are filled in SQL (tests/scale_data.py), as on a shared
database where one shop is a minority of every table. Each list's first page, a cursor page, a deep offset
page and its filters are requested through the API and every SELECT they ran is EXPLAINed. The test fails
on a Seq Scan of a list's table, and on a page query sorting many times the rows it returns (an index that
serves the filter but not the order reads every matching row before it can return the first). Tables (or
daily partitions) of fewer than SMALL_TABLE rows are exempt: there, reading it all is the right plan.
"""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.scale_data import fill_organization

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = 10_000
SMALL_TABLE = 1_000
LIST_TABLES = {
    "customers_customer",
    "customers_photo",
    "tryons_carttryonsession",
    "tryons_tryon",
    "webhooks_webhook",
    "webhooks_webhookdelivery",
    "organizations_creditledgerentry",
    "apikeys_apikey",
    "usage_usagerollup",
}


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _relation_rows(cursor, table: str) -> float:
    cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
    return cursor.fetchone()[0]


def _page_rows(sql: str) -> int:
    """LIMIT + OFFSET of the outermost page query (0 without a LIMIT)."""
    limit = re.search(r" LIMIT (\d+)(?: OFFSET (\d+))?", sql)
    return int(limit[1]) + int(limit[2] or 0) if limit else 0


def _full_reads(sql: str) -> list[str]:
    """What in the plan reads an organization's rows in full: a Seq Scan of a list table, or (in a page
    query) a Sort of far more rows than the page needs, i.e. an index that does not match the order."""
    page_rows = _page_rows(sql)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found = []
        for node in _nodes(plan[0]["Plan"]):
            table = node.get("Relation Name", "")
            is_list_table = table in LIST_TABLES or table.startswith("usage_requestlogentry")
            if (
                node["Node Type"] == "Seq Scan"
                and is_list_table
                and _relation_rows(cursor, table) >= SMALL_TABLE
            ):
                found.append(f"Seq Scan on {table}")
            # An Incremental Sort streams (its input is already in the leading key's order): not a full read.
            # A page that needs most of a small filtered set may rightly read it all and sort it; one that
            # sorts many times the rows it returns is reading the organization's rows in full.
            if page_rows and node["Node Type"] == "Sort":
                sorted_rows = node["Plans"][0]["Plan Rows"]
                if sorted_rows >= max(SMALL_TABLE, 3 * page_rows):
                    found.append(f"Sort of {sorted_rows} rows for a page of {page_rows}")
    return found


@pytest.fixture
def big_organization(organization, other_organization, api_key_for):
    keys = [api_key_for(organization, name=f"key {n}")[0].id for n in range(3)]
    rival_keys = [api_key_for(other_organization, name=f"rival {n}")[0].id for n in range(3)]
    # Three times the volume in another organization: the index has to pick one organization's rows out.
    for org, tag, key_ids, rows in (
        (organization, "a", keys, ROWS),
        (other_organization, "b", rival_keys, 3 * ROWS),
    ):
        fill_organization(
            organization_id=org.id,
            tag=tag,
            key_ids=key_ids,
            customers=rows,
            single_tryons=rows,
            sessions=rows // 2,
            deliveries=rows,
            webhooks=rows // 50,
            ledger_entries=rows,
            request_records=rows * 2,
        )
    # A year and more of the rival's hourly usage: ours is then a small share of the rollups too.
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO usage_usagerollup (organization_id, period, start, api_key_id, method, route,
                status_code, requests, duration_ms_total)
            SELECT %s, 'hour', date_trunc('hour', now()) - g * interval '1 hour', %s, 'GET',
                '/api/v1/customers/' || g %% 40, 200, 10, 100
            FROM generate_series(1, 200000) g""",
            [other_organization.id, rival_keys[0]],
        )
        cursor.execute("ANALYZE usage_usagerollup")
    # What fill_organization names: a customer with photos, the first webhook, a cart id in use.
    details = {"customer_with_photos": "shopper-a-5", "webhook_id": "webhook_a1", "cart_id": "cart_7"}
    return organization, keys, details


def test_every_list_query_walks_an_index(big_organization, partner_client, jwt_client, owner):
    organization, keys, details = big_organization
    partner = partner_client(organization)
    member = jwt_client(owner)
    org_api = f"/api/organizations/{organization.id}"
    lists = [
        (partner, "/api/v1/customers", {}),
        (partner, f"/api/v1/customers/{details['customer_with_photos']}/photos", {}),
        (partner, "/api/v1/cart-tryons", {}),
        (partner, "/api/v1/cart-tryons", {"status": "failed"}),
        (partner, "/api/v1/cart-tryons", {"cartId": details["cart_id"]}),
        (partner, "/api/v1/tryons", {}),
        (partner, "/api/v1/tryons", {"status": "failed"}),
        (partner, "/api/v1/webhooks", {}),
        (partner, f"/api/v1/webhooks/{details['webhook_id']}/deliveries", {}),
        (partner, f"/api/v1/webhooks/{details['webhook_id']}/deliveries", {"status": "failed"}),
        (member, f"{org_api}/credits", {}),
        (member, f"{org_api}/api-keys", {}),
        (member, f"{org_api}/logs/requests", {}),
        (member, f"{org_api}/logs/requests", {"status": "404"}),
        (member, f"{org_api}/logs/requests", {"status": "5xx"}),
        (member, f"{org_api}/logs/requests", {"keyId": keys[1]}),
        (member, f"{org_api}/logs/requests", {"route": "/api/v1/cart-tryons"}),
        (member, f"{org_api}/usage", {}),
        (member, f"{org_api}/usage", {"granularity": "hour", "keyId": keys[0]}),
    ]
    problems = []
    for client, url, params in lists:
        pages = [params]
        first = client.get(url, params)
        assert first.status_code == 200, (url, first.content[:300])
        body = first.json()
        if "data" in body and body["data"]:
            last = body["data"][-1]
            cursor = last.get("id") or last.get("requestId")
            pages.append({**params, "startingAfter": cursor})
            pages.append({**params, "offset": 2000})
        for page_params in pages:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, page_params)
            assert response.status_code == 200, (url, page_params, response.content[:300])
            for query in queries.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                found = _full_reads(sql)
                if found:
                    problems.append(f"{url} {page_params}: {found}\n    {sql[:400]}")
    assert not problems, "\n".join(problems)

    # And a cursor page deep in the list reads exactly as many rows as the first page (limit + 1).
    deep = partner.get("/api/v1/customers", {"offset": ROWS - 100, "limit": 1}).json()["data"][0]["id"]

    def rows_read(params):
        with CaptureQueriesContext(connection) as queries:
            partner.get("/api/v1/customers", params)
        page_query = next(q["sql"] for q in queries.captured_queries if "LIMIT 21" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_query)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return plan[0]["Plan"]["Actual Rows"]

    assert rows_read({"startingAfter": deep}) == rows_read({}) == 21
