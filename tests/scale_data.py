"""One organization filled to scale in SQL (INSERT … SELECT generate_series): minutes for millions of rows.

Used by the list-index test (tens of thousands of rows) and by bench/scale_lists.py (a million customers,
a million try-ons, ten million request records). PostgreSQL only. Rows are spread evenly over the last
`days` days, newest first in id order; every id carries `tag` so several organizations can be filled.
"""

# ruff: noqa: S608 - the SQL interpolates only this module's constants, the caller's tag and integers;
# every value that comes from data (organization and key ids) is a bound parameter.
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from usage.partitions import partitions_ensure

ROUTES = [
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{externalId}"),
    ("POST", "/api/v1/customers/{externalId}/photos"),
    ("POST", "/api/v1/cart-tryons"),
    ("GET", "/api/v1/cart-tryons/{pk}"),
    ("GET", "/api/v1/cart-tryons"),
    ("POST", "/api/v1/tryons"),
]
# One request in 50 is an error of some kind, as in a healthy integration.
STATUSES = [(200, "")] * 45 + [(201, ""), (400, "ValidationError"), (404, "ResourceNotFound")]
STATUSES += [(429, "RateLimitExceeded"), (500, "InternalError")]


def _spread(count: int, days: int) -> str:
    """created_at of row g (1 = newest) spread over `days` days back from now."""
    return f"now() - (g::float8 / {max(count, 1)}) * interval '{days} days'"


def fill_organization(
    *,
    organization_id: str,
    tag: str,
    key_ids: list[str],
    customers: int = 0,
    photo_every: int = 5,
    single_tryons: int = 0,
    sessions: int = 0,
    items_per_session: int = 2,
    webhooks: int = 1,
    deliveries: int = 0,
    ledger_entries: int = 0,
    request_records: int = 0,
    days: int = 30,
    on_step=None,
) -> dict:
    """Fill one organization; returns ids useful to a caller (a customer with photos, a webhook, a key)."""
    step = on_step or (lambda name: None)
    org = organization_id
    with connection.cursor() as cursor:

        def run(name, sql, params=()):
            step(name)
            cursor.execute(sql, params)

        if customers:
            run(
                "customers",
                f"""INSERT INTO customers_customer (id, organization_id, external_id, email, name, metadata,
                    created_at, updated_at)
                SELECT 'cust_{tag}' || g, %s, 'shopper-{tag}-' || g, 'shopper' || g || '@example.com',
                    'Shopper ' || g, '{{}}'::jsonb, {_spread(customers, days)}, now()
                FROM generate_series(1, %s) g""",
                [org, customers],
            )
            # Every `photo_every`-th customer has two photos.
            run(
                "photos",
                f"""INSERT INTO customers_photo (id, organization_id, customer_id, storage_key, content_type,
                    width, height, size_bytes, metadata, uploaded_at)
                SELECT 'photo_{tag}' || g, %s, 'cust_{tag}' || (((g + 1) / 2) * %s),
                    'enterprise/org-{tag}/photos/photo_{tag}' || g || '.jpg', 'image/jpeg', 600, 900, 50000,
                    '{{}}'::jsonb, {_spread(2 * customers // photo_every, days)}
                FROM generate_series(1, %s) g""",
                [org, photo_every, 2 * (customers // photo_every)],
            )
        if sessions:
            run(
                "cart sessions",
                f"""INSERT INTO tryons_carttryonsession (id, organization_id, photo_key, cart_id, status,
                    render_quality, background_scene, metadata, content_hash, item_count, progress,
                    credits_required, credits_charged, credits_refunded, sweep_count, created_at,
                    heartbeat_at, lease)
                SELECT 'cts_{tag}' || g, %s, 'enterprise/org-{tag}/photos/p.jpg', 'cart_' || (g %% 50000),
                    (ARRAY['completed','completed','completed','partial','failed','cancelled'])[1 + g %% 6],
                    'sd', '', '{{}}'::jsonb, md5(g::text), %s, 100, %s, %s, 0, 0,
                    {_spread(sessions, days)}, now(), ''
                FROM generate_series(1, %s) g""",
                [org, items_per_session, items_per_session, items_per_session, sessions],
            )
        total_tryons = single_tryons + sessions * items_per_session
        if total_tryons:
            # Rows 1..single_tryons are single try-ons; the rest are the sessions' items, in position order.
            run(
                "try-ons",
                f"""INSERT INTO tryons_tryon (id, organization_id, session_id, position, photo_key,
                    product_id, variant_id, name, image_url, category, quantity, currency, render_quality,
                    background_scene, metadata, status, credits, credits_refunded, attempts, renderer,
                    render_job_id, awaiting_callback, result_key, error_code, error, created_at,
                    heartbeat_at, sweep_count, lease)
                SELECT 'tryon_{tag}' || g, %(org)s,
                    CASE WHEN g > %(singles)s THEN 'cts_{tag}' || ((g - %(singles)s - 1) / %(per)s + 1) END,
                    CASE WHEN g > %(singles)s THEN (g - %(singles)s - 1) %% %(per)s ELSE 0 END,
                    'enterprise/org-{tag}/photos/p.jpg', 'prod_' || g %% 1000, '', 'Garment',
                    'https://shop.example.com/g.png', 'tops', 1, 'USD', 'sd', '', '{{}}'::jsonb,
                    (ARRAY['completed','completed','completed','failed'])[1 + g %% 4], 1, 0, 1, 'local', '',
                    false, '', '', '', {_spread(total_tryons, days)}, now(), 0, ''
                FROM generate_series(1, %(total)s) g""",
                {
                    "org": org,
                    "singles": single_tryons,
                    "per": max(items_per_session, 1),
                    "total": total_tryons,
                },
            )
        if webhooks:
            run(
                "webhooks",
                f"""INSERT INTO webhooks_webhook (id, organization_id, url, description, events, secret,
                    previous_secret, is_active, consecutive_failures, disabled_reason, created_at, updated_at,
                    headers, metadata)
                SELECT 'webhook_{tag}' || g, %s, 'https://shop.example.com/hooks/' || g, '', '[]'::jsonb,
                    'whsec_x', '', true, 0, '', {_spread(webhooks, days)}, now(), '{{}}'::jsonb, '{{}}'::jsonb
                FROM generate_series(1, %s) g""",
                [org, webhooks],
            )
        if deliveries and webhooks:
            run(
                "webhook events",
                f"""INSERT INTO webhooks_webhookevent (id, organization_id, event, body, created_at)
                SELECT 'evt_{tag}' || g, %s, 'cart_tryon.completed', '{{}}', {_spread(deliveries, days)}
                FROM generate_series(1, %s) g""",
                [org, deliveries],
            )
            run(
                "webhook deliveries",
                f"""INSERT INTO webhooks_webhookdelivery (id, organization_id, webhook_id, event_id, status,
                    attempt_count, last_error, created_at, updated_at)
                SELECT 'whd_{tag}' || g, %s, 'webhook_{tag}1', 'evt_{tag}' || g,
                    (ARRAY['succeeded','succeeded','succeeded','failed'])[1 + g %% 4], 1, '',
                    {_spread(deliveries, days)}, now()
                FROM generate_series(1, %s) g""",
                [org, deliveries],
            )
        if ledger_entries:
            run(
                "ledger",
                f"""INSERT INTO organizations_creditledgerentry (organization_id, kind, amount, balance_after,
                    reference, description, created_at)
                SELECT %s, CASE WHEN g %% 10 = 0 THEN 'refund' ELSE 'charge' END,
                    CASE WHEN g %% 10 = 0 THEN 1 ELSE -2 END, 1000000 + g, 'cts_{tag}' || g, '',
                    {_spread(ledger_entries, days)}
                FROM generate_series(1, %s) g""",
                [org, ledger_entries],
            )
        if request_records:
            today = timezone.now().date()
            partitions_ensure(today - timedelta(days=offset) for offset in range(-1, days + 2))
            methods = "ARRAY[" + ",".join(f"'{m}'" for m, _ in ROUTES) + "]"
            routes = "ARRAY[" + ",".join(f"'{r}'" for _, r in ROUTES) + "]"
            codes = "ARRAY[" + ",".join(str(c) for c, _ in STATUSES) + "]"
            errors = "ARRAY[" + ",".join(f"'{e}'" for _, e in STATUSES) + "]"
            keys = "ARRAY[" + ",".join("%s" for _ in key_ids) + "]"
            run(
                "request log",
                f"""INSERT INTO usage_requestlogentry (organization_id, api_key_id, request_id, method, route,
                    status_code, error_code, duration_ms, client_address, created_at)
                SELECT %s, ({keys})[1 + g %% {len(key_ids)}], 'req_{tag}' || g,
                    ({methods})[1 + g %% {len(ROUTES)}], ({routes})[1 + g %% {len(ROUTES)}],
                    ({codes})[1 + (g / 7) %% {len(STATUSES)}], ({errors})[1 + (g / 7) %% {len(STATUSES)}],
                    (g * 7) %% 180 + 3, ('203.0.113.' || g %% 250)::inet, {_spread(request_records, days)}
                FROM generate_series(1, %s) g""",
                [org, *key_ids, request_records],
            )
            # The rollups, built by the same grouping the flush applies batch by batch.
            for period in ("hour", "day"):
                run(
                    f"usage rollups by {period}",
                    f"""INSERT INTO usage_usagerollup (organization_id, period, start, api_key_id, method,
                        route, status_code, requests, duration_ms_total)
                    SELECT organization_id, '{period}', date_trunc('{period}', created_at), api_key_id,
                        method, route, status_code, count(*), sum(duration_ms)
                    FROM usage_requestlogentry WHERE organization_id = %s
                    GROUP BY 1, 2, 3, 4, 5, 6, 7""",
                    [org],
                )
        step("analyze")
        for table in (
            "customers_customer",
            "customers_photo",
            "tryons_carttryonsession",
            "tryons_tryon",
            "webhooks_webhook",
            "webhooks_webhookdelivery",
            "organizations_creditledgerentry",
            "apikeys_apikey",
            "usage_requestlogentry",
            "usage_usagerollup",
        ):
            cursor.execute(f"ANALYZE {table}")
    return {
        "customer_with_photos": f"shopper-{tag}-{photo_every}",
        "webhook_id": f"webhook_{tag}1",
        "cart_id": "cart_7",
    }
