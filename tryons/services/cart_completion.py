"""Cart items whose renders a hosted engine delivered, completed many at a time: one statement for the batch,
with tryon_complete's conditions and fields (tryons.services.settlement)."""

import json

from django.db import connection, transaction
from django.utils import timezone

from infrastructure.observability import metrics
from infrastructure.storage import storage_delete
from tryons.models import Look, TryOn
from tryons.services.looks import looks_item_ended
from tryons.services.settlement import tryon_complete

# Cart items completed in one statement: the same conditions and fields as tryon_complete's UPDATE.
_COMPLETE_CART_ITEMS = """
UPDATE tryons_tryon AS t
   SET status = 'completed', result_key = v.result_key, result_info = v.result_info, completed_at = %s,
       render_ms = v.render_ms, awaiting_callback = FALSE, error_code = '', error = ''
  FROM (VALUES {rows}) AS v(id, result_key, result_info, render_ms)
 WHERE t.id = v.id AND t.status = 'processing' AND t.photo_key <> '' AND t.session_id IS NOT NULL
RETURNING t.id
"""


def cart_items_complete(*, results: list[tuple[TryOn, str, dict, int | None]]) -> set[str]:
    """Complete many cart items whose results are stored, as `tryon_complete` does one: (item, result key,
    result info, render ms) each; returns the ids completed. One statement for all, so a batch of finished
    renders does not pay a transaction per item. An item no longer ours to complete (cancelled, erased, ended
    by another run) is left alone, and its stored result removed unless it is the one the item records."""
    if not results:
        return set()
    if connection.vendor != "postgresql":  # SQLite (embedded mode): one item at a time
        return {
            tryon.id
            for tryon, key, info, ms in results
            if tryon_complete(tryon=tryon, result=None, elapsed_ms=ms, stored_key=key, stored_info=info)
        }
    rows = ", ".join(["(%s, %s, %s::jsonb, %s::integer)"] * len(results))
    params = [timezone.now()] + [
        value for tryon, key, info, ms in results for value in (tryon.id, key, json.dumps(info), ms)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_COMPLETE_CART_ITEMS.format(rows=rows), params)
        completed = {row[0] for row in cursor.fetchall()}
    _looks_items_completed([tryon for tryon, *_ in results if tryon.id in completed])
    transaction.on_commit(
        lambda: metrics.tryon_ended(status=TryOn.Status.COMPLETED, source="cart", count=len(completed))
    )
    lost = [(tryon.id, key) for tryon, key, *_ in results if tryon.id not in completed]
    if lost:
        current = dict(TryOn.objects.filter(pk__in=[i for i, _ in lost]).values_list("id", "result_key"))
        for tryon_id, key in lost:
            if current.get(tryon_id) != key:
                storage_delete(key)
    return completed


def _looks_items_completed(items: list[TryOn]) -> None:
    """The looks that start from these just completed cart items go on (one query when none does); each in
    a transaction of its own, after the items' (a run dying in between leaves them to `looks_start`)."""
    sessions = {item.session_id for item in items}
    if not Look.objects.filter(session_id__in=sessions, status=Look.Status.QUEUED, reuses_item=True).exists():
        return
    for item in sorted(items, key=lambda item: (item.session_id, item.position)):
        if item.sample:
            continue  # a look starts from the item's first sample
        with transaction.atomic():
            looks_item_ended(session_id=item.session_id, position=item.position, end=TryOn.Status.COMPLETED)
