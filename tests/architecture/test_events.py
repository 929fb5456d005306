"""The webhook events are one catalogue (api.events): each event is declared once, in its owner's events.py,
with a description, a data serializer, a builder beside it and an example; emitters pass the declared
constant, so no module writes an event name, or builds one from its parts, anywhere else; and the webhooks
app delivers what it is given without naming any other app's event."""

import ast
import re

import pytest
from rest_framework import serializers

from api.events import OWNERS, event_emit, event_types
from tests.architecture.rooms import ROOT, parsed, room_sources

# Seed 001's request examples, quoted as the seed writes them: tests/config/test_schema_examples.py holds
# them against the subscription enum the catalogue generates, so a renamed event fails there.
SEED_EXAMPLES = "api/examples.py"


def _sources():
    for path in room_sources():
        yield path.relative_to(ROOT).as_posix(), parsed(path)


def _declarations(tree) -> set[int]:
    """The `name="…"` constants of event_type_declare calls: the one place each name is written."""
    return {
        id(keyword.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "event_type_declare"
        for keyword in node.keywords
        if keyword.arg == "name"
    }


def _spelled(text: str, names: list[str]) -> str | None:
    """The event name a string literal spells or starts to build ("tryon." + end, "cart_tryon.%s")."""
    for name in names:
        family = name.split(".")[0] + "."
        if text in (name, family) or re.fullmatch(re.escape(family) + r"(%s|\{\w*\})", text):
            return name
    return None


def _built(node: ast.JoinedStr, names: list[str]) -> str | None:
    """The event name an f-string can build from its literal parts, e.g. f"tryon.{end}"."""
    parts = [re.escape(value.value) if isinstance(value, ast.Constant) else ".+" for value in node.values]
    literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    for name in names:
        family, action = name.split(".", 1)
        if re.fullmatch("".join(parts), name) and (f"{family}." in literal or f".{action}" in literal):
            return name
    return None


def _event_names_written(tree, names: list[str]) -> list[str]:
    declared = _declarations(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            name = _built(node, names)
            if name:
                found.append(f"line {node.lineno}: an f-string building {name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in declared:
            name = _spelled(node.value, names)
            if name:
                found.append(f"line {node.lineno}: {node.value!r}")
    return found


@pytest.fixture(scope="module")
def names():
    declared = [event_type.name for event_type in event_types()]
    assert declared
    return declared


def test_every_event_is_declared_whole_in_its_owners_events_module():
    declared = event_types()
    assert len(declared) == 14
    for event_type in declared:
        assert event_type.owner in OWNERS, event_type.name
        assert event_type.description.strip(), event_type.name
        assert issubclass(event_type.data, serializers.Serializer), event_type.name
        assert callable(event_type.build), event_type.name
        # The builder sits beside the declaration, in an events module of the owning app.
        module = event_type.build.__module__
        assert module.split(".")[0] == event_type.owner and module.endswith(".events"), event_type.name
        assert isinstance(event_type.example, dict) and event_type.example, event_type.name
        assert set(event_type.example) == set(event_type.data().fields), event_type.name


def test_events_are_declared_only_in_an_apps_events_module():
    declaring = {
        relative
        for relative, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "event_type_declare"
    }
    assert declaring
    # An app's events.py, or the events.py of the package in it that emits them (customers/bulk/events.py).
    assert {path.split("/")[0] for path in declaring} == set(OWNERS)
    assert {path for path in declaring if not path.endswith("/events.py")} == set()


def test_no_event_name_is_written_outside_its_declaration(names):
    written = {
        relative: found
        for relative, tree in _sources()
        if relative != SEED_EXAMPLES
        for found in [_event_names_written(tree, names)]
        if found
    }
    assert written == {}


def test_events_are_emitted_with_a_declared_constant_through_the_one_emit_path():
    emits, wrong = 0, []
    for relative, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if callee == event_emit.__name__:
                emits += 1
                first = node.args[0] if node.args else None
                if not isinstance(first, ast.Attribute | ast.Subscript):  # events.X or events.ENDED[state]
                    wrong.append(f"{relative}:{node.lineno}: event_emit without a declared constant")
            elif callee == "webhook_event_record" and not relative.startswith("webhooks/"):
                wrong.append(f"{relative}:{node.lineno}: records into the outbox instead of emitting")
    assert emits >= 6  # credits (2), customers.imported, session end, single try-on end, cancellation
    assert wrong == []


def test_the_webhooks_app_names_no_other_apps_event(names):
    product = [e.name for e in event_types() if e.owner != "webhooks"]
    assert product
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in product) + r")(?!\w)")
    named = {}
    for relative, tree in _sources():
        if not relative.startswith("webhooks/"):
            continue
        # Prose too: the app that delivers events does not describe what any of them means.
        texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        imported = [
            n.module
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.endswith(".events")
        ]
        found = [m.group(0) for text in texts for m in pattern.finditer(text)]
        found += [module for module in imported if module not in {"api.events", "webhooks.events"}]
        if found:
            named[relative] = found
    assert named == {}
