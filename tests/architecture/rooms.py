"""The rooms of the house, in the order their imports point (each may import only the ones before it), and
their source modules, which every architecture test reads."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = [
    "config",
    "api",
    "infrastructure",
    "organizations",
    "apikeys",
    "usage",
    "customers",
    "webhooks",
    "tryons",
]
# The staff console's pages and the partner portal's sit on top of every app; nothing imports them.
ROOMS = [*ORDER, "console", "portal"]


def room_sources(rooms=ROOMS):
    """The .py files of `rooms`, migrations left out (generated, and frozen once applied)."""
    for room in rooms:
        for path in sorted((ROOT / room).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))
