"""Every room whole: usage owns all of usage, and API keys keep only what authentication needs.

Usage (recording, the flush, retention, the usage and request log endpoints, one key's usage) lives in
usage/. apikeys imports nothing of usage: its partner mixin hands each answered request to the recorders
registered with `partner_request_recorder_register`, and usage registers its own in UsageConfig.ready.
"""

import ast
import re
from pathlib import Path

import pytest

from tests.architecture.rooms import ROOMS, ROOT, parsed, room_sources

# Every room but usage itself, and the partner portal, whose pages show every app's (its usage page too).
APPS = [room for room in ROOMS if room not in {"usage", "portal"}]
# The usage routes: /organizations/{id}/usage, /logs/requests…, /api-keys/{keyId}/usage.
USAGE_ROUTE_WORDS = ("usage", "logs/requests")
# A Celery task name (`apikeys.flush_usage`), a beat entry or URL name (`prune-api-usage`).
USAGE_NAMES = re.compile(r"^\w+\.\w*usage\w*$|^[a-z]+(-[a-z]+)*-usage(-[a-z]+)*$")


def _modules(app: str):
    for path in room_sources([app]):
        yield path, parsed(path)


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


def _usage_routes_outside_usage() -> list[str]:
    found = []
    for app in APPS:
        for path, tree in _modules(app):
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"path", "re_path"}:
                    route = node.args[0] if node.args else None
                    if isinstance(route, ast.Constant) and any(
                        w in str(route.value) for w in USAGE_ROUTE_WORDS
                    ):
                        found.append(_where(path, node))
    return found


def _usage_names_outside_usage() -> list[str]:
    """Celery tasks, beat entries and URL names of usage."""
    return [
        f"{_where(path, node)} {node.value}"
        for app in APPS
        for path, tree in _modules(app)
        for node in _strings(tree)
        if USAGE_NAMES.match(node.value)
    ]


def test_no_module_outside_usage_is_about_usage():
    named = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path.stem.startswith("usage")
    ]
    assert named == []


def test_usage_routes_are_declared_in_the_usage_app_only():
    assert _usage_routes_outside_usage() == []
    usage_routes = [
        node.args[0].value
        for _, tree in _modules("usage")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "path"
    ]
    assert usage_routes, "usage/urls.py declares the usage routes"
    assert all(any(w in route for w in USAGE_ROUTE_WORDS) for route in usage_routes)
    config_urls = (ROOT / "config" / "urls.py").read_text()
    assert 'include("usage.urls")' in config_urls


def test_usage_tasks_beat_entries_and_url_names_are_declared_in_the_usage_app_only():
    assert _usage_names_outside_usage() == []
    usage_sources = "".join(path.read_text() for path, _ in _modules("usage"))
    for name in ("apikeys.flush_usage", "apikeys.prune_usage", "flush-api-usage", "prune-api-usage"):
        assert f'"{name}"' in usage_sources, name


@pytest.mark.parametrize("path", sorted((ROOT / "apikeys").rglob("*.py")), ids=lambda p: p.name)
def test_apikeys_imports_nothing_of_usage(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
    }
    assert not {name for name in imported if name.split(".")[0] == "usage"}


def test_usage_records_partner_requests_through_the_apikeys_seam():
    """The seam is a registry apikeys declares and usage fills in its ready(), with its public recorder."""
    ready = ast.parse((ROOT / "usage" / "apps.py").read_text())
    calls = [
        node
        for node in ast.walk(ready)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "partner_request_recorder_register"
    ]
    assert len(calls) == 1
    assert [getattr(arg, "id", None) for arg in calls[0].args][-1] == "usage_record"
