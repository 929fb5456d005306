"""How a try-on's fields read on the wire, for the REST serializers and the webhook payloads alike.

A partner sees the same try-on through GET /tryons, GET /cart-tryons and a webhook event: every field both
carry is built here or by the same rule (credits as organizations.models.credits_number), and
tests/tryons/test_payload_shapes.py checks that they agree.
"""

from itertools import groupby

from infrastructure.storage import storage_signed_url
from organizations.models import credits_number
from tryons.controls import engine_notes, extension_format, render_controls
from tryons.models import TryOn
from tryons.renderers.registry import RENDERERS, renderer_honours
from tryons.scenes import ORIGINAL, scene_requested

__all__ = [
    "credits_number",
    "item_engine_notes",
    "item_results",
    "item_reused",
    "item_samples",
    "item_status",
    "look_garments",
    "result_url",
    "scene_applied",
    "tryon_error",
]


def result_url(tryon: TryOn) -> str | None:
    """Expiring signed URL of the rendered image, or None while there is none."""
    return storage_signed_url(tryon.result_key) if tryon.result_key else None


def scene_applied(tryon: TryOn) -> str | None:
    """The background scene the result shows: the one asked for, if its renderer places scenes, else the
    photo's own (`original`); None until there is a result."""
    if tryon.status != TryOn.Status.COMPLETED:
        return None
    kind = RENDERERS.get(tryon.renderer)
    return scene_requested(tryon.background_scene) if kind is not None and kind.places_scenes else ORIGINAL


def tryon_error(tryon: TryOn) -> dict | None:
    """Why the try-on failed: {"code", "message"}, or None."""
    if not tryon.error_code:
        return None
    return {"code": tryon.error_code, "message": tryon.error}


def item_samples(rows) -> list[list[TryOn]]:
    """A cart's rows as its items: each item's rows (its samples, tryons.models.TryOn.sample) together, in
    cart order, the first sample first."""
    ordered = sorted(rows, key=lambda row: (row.position, row.sample))
    return [list(samples) for _, samples in groupby(ordered, key=lambda row: row.position)]


def look_garments(rows) -> dict[int, tuple[str, str]]:
    """Each cart position's (productId, variantId), for naming a look's garments."""
    return {row.position: (row.product_id, row.variant_id) for row in rows if not row.sample}


def item_status(samples: list[TryOn]) -> str:
    """An item's status over its samples: rendering while any is, then completed if any image was
    delivered (the others refunded), else as its first sample ended."""
    first = samples[0]
    if len(samples) == 1:
        return str(first.status)
    statuses = {row.status for row in samples}
    if statuses & set(TryOn.ACTIVE):
        return str(TryOn.Status.QUEUED if statuses == {TryOn.Status.QUEUED} else TryOn.Status.PROCESSING)
    if TryOn.Status.COMPLETED in statuses:
        return str(TryOn.Status.COMPLETED)
    return str(first.status)


def item_results(samples: list[TryOn]) -> list[dict]:
    """Every delivered image of the item, in sample order: {url, seed, format, width, height, reused}."""
    results = []
    for row in samples:
        if row.status != TryOn.Status.COMPLETED or not row.result_key:
            continue
        info = row.result_info or {}
        results.append(
            {
                "url": storage_signed_url(row.result_key),
                "seed": row.seed,
                "format": info.get("format") or extension_format(row.result_key.rsplit(".", 1)[-1]),
                "width": info.get("width"),
                "height": info.get("height"),
                "reused": bool(row.reused_from),
            }
        )
    return results


def item_reused(samples: list[TryOn]) -> bool:
    """Whether every image the item delivered was handed out from an identical earlier render."""
    delivered = [row for row in samples if row.status == TryOn.Status.COMPLETED]
    return bool(delivered) and all(row.reused_from for row in delivered)


def item_engine_notes(samples: list[TryOn]) -> list[dict]:
    """What the item's renderer did not do of the controls asked (tryons.controls.engine_notes), once an
    image was delivered: a hosted engine's model is the one recorded with the result."""
    first = next((row for row in samples if row.status == TryOn.Status.COMPLETED), None)
    if first is None or not first.renderer:
        return []
    model = (first.result_info or {}).get("model", "")
    return engine_notes(renderer_honours(first.renderer, model), first.renderer, render_controls(first))
