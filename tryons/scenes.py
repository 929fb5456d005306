"""The background scenes a partner may ask for (`backgroundScene`), declared once: the request's choices, the
local renderer's drawing, the README and the schema read this.

`original` (the default, and what an empty value means) keeps the photo's own background. A renderer that
cannot place a scene keeps it too, and the item says which scene it got (`backgroundSceneApplied`): the
renderer registry declares which renderers place scenes (tryons.renderers.registry, `places_scenes`).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    # The colour the local preview lays behind the person; None keeps the photo's background.
    backdrop: tuple[int, int, int] | None = None


ORIGINAL = "original"
SCENES = {
    scene.name: scene
    for scene in (
        Scene(ORIGINAL, "the photo's own background, as taken"),
        Scene("studio", "a seamless light-grey studio backdrop", backdrop=(232, 232, 228)),
        Scene("white", "plain white, as on a product page", backdrop=(255, 255, 255)),
    )
}
SCENE_NAMES = tuple(SCENES)


def scene_requested(value: str) -> str:
    """The scene a stored request asked for: an empty value (from before the list) is `original`."""
    return value or ORIGINAL
