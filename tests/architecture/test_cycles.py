"""Every room is whole: no import cycle inside an app or package, no module over 400 lines, modules use
each other's public names only, and no package `__init__` hands out a private name.

The import graph is read from the source (ast), so a deferred import counts as much as a top-level one:
moving an import into a function hides a cycle from Python's loader, not from the design.
`from pkg import name` is an arrow to the submodule `pkg.name` when there is one, else to `pkg` itself
(its `__init__`): a module that imports a package's re-export depends on everything that `__init__` imports.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.architecture.rooms import ROOMS, ROOT

MAX_LINES = 400
# Not the project's own modules: the virtualenv, build output, data, and the SDKs' models generated from the
# OpenAPI document (sdks/generate.py; regenerated, never edited).
OUTSIDE = {".venv", ".git", "var", "node_modules", "garmaxai_enterprise_api.egg-info", "_generated"}


def _source_files(top: Path):
    for path in sorted(top.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if OUTSIDE & set(parts) or "migrations" in parts or parts[0] == "tests":
            continue
        yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Every first-party module (rooms, bench, ops, manage.py) by dotted name."""
    return {_module_name(path): path for path in _source_files(ROOT)}


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module an ImportFrom names, with relative imports resolved against `path`'s package."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path):
    """(imported module, names taken from it) for every import in `path`, at any depth."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            yield _absolute(node, path), tuple(alias.name for alias in node.names)


def _arrows(path: Path) -> set[str]:
    """The first-party modules `path` imports: a submodule when a name is one, else the module named."""
    modules = _modules()
    targets = set()
    for module, names in _imports(path):
        submodules = {f"{module}.{name}" for name in names} & modules.keys()
        targets |= submodules
        if module in modules and (not names or len(submodules) < len(names)):
            targets.add(module)
    return targets


def _room_graph(room: str) -> dict[str, set[str]]:
    inside = {name: path for name, path in _modules().items() if name == room or name.startswith(f"{room}.")}
    return {name: _arrows(path) & inside.keys() - {name} for name, path in inside.items()}


def _cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """The strongly connected components of more than one module (Tarjan), each with one cycle through it."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [(component, _one_cycle(graph, set(component))) for component in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest way round from the component's first module back to itself (what to read first)."""
    start = min(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & component):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return sorted(component)


def _file(module: str) -> str:
    return str(_modules()[module].relative_to(ROOT))


@pytest.mark.parametrize("room", ROOMS)
def test_no_import_cycle_inside_a_room(room):
    graph = _room_graph(room)
    assert graph, f"no modules found for {room}"
    cycles = [
        f"{len(component)} files tied together ({', '.join(map(_file, component))}); one way round: "
        + " -> ".join(map(_file, cycle))
        for component, cycle in _cycles(graph)
    ]
    assert cycles == []


def test_a_cycle_is_found_and_reported_by_its_files():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycles(graph) == [(["a", "b", "c"], ["a", "b", "c", "a"])]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_400_lines():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in _source_files(ROOT)}
    assert len(sizes) > 100
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}


def _in_a_room(module: str) -> bool:
    return module.split(".")[0] in ROOMS


def test_modules_import_only_public_names_of_other_modules():
    modules = _modules()
    private = sorted(
        f"{path.relative_to(ROOT)}: from {module} import {name}"
        for importer, path in modules.items()
        if _in_a_room(importer)
        for module, names in _imports(path)
        if module in modules
        for name in names
        if name.startswith("_") and f"{module}.{name}" not in modules
    )
    assert private == []


def _private_exports(path: Path) -> list[str]:
    """What a package `__init__` exports under a private name: entries of `__all__`, and other modules'
    names bound to a private alias at the top level (reachable as `package._name`)."""
    exported = []
    for node in _tree(path).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported += [
                elt.value
                for elt in getattr(node.value, "elts", ())
                if isinstance(elt, ast.Constant) and str(elt.value).startswith("_")
            ]
        elif isinstance(node, ast.ImportFrom) and _absolute(node, path) in _modules():
            exported += [a.asname for a in node.names if a.asname and a.asname.startswith("_")]
    return exported


def test_no_package_init_exports_a_private_name():
    inits = [path for name, path in _modules().items() if path.name == "__init__.py" and _in_a_room(name)]
    assert inits
    exports = {str(p.relative_to(ROOT)): sorted(set(names)) for p in inits if (names := _private_exports(p))}
    assert exports == {}
