"""Render reuse: an identical render done before is handed out again instead of rendered (README, "Render
reuse"). Two renders are identical when everything that decides the image is: the person image and the
garment image as the renderer would get them (their SHA-256), the garment's category, the quality, the
background scene, the render controls (tryons.controls; the seed only when the partner gave one), and the
renderer with its model. The key is their digest; an organization's test mode is an organization of its own,
so reuse never crosses organizations or modes (tryons.services.reuse looks only within one).
"""

import hashlib
import json


def image_digest(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


def reuse_key(*, person: str, garment: str, tryon, renderer: str, model: str) -> str:
    """The reuse key of rendering `tryon` (a tryons.models.TryOn) with `renderer` (and its hosted `model`),
    `person` and `garment` being its images' digests."""
    decided_by = {
        "person": person,
        "garment": garment,
        "category": tryon.category,
        "quality": tryon.render_quality,
        "scene": tryon.background_scene,
        "photoType": tryon.garment_photo_type,
        "format": tryon.output_format,
        "seed": tryon.seed if tryon.seed_given else None,
        "renderer": renderer,
        "model": model,
    }
    return hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode()).hexdigest()
