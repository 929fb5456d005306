"""Rules for the tests themselves.

An assertion inside a `for` loop holds vacuously when the loop runs zero times: an empty list from a broken
query, a receiver that got nothing, a filter that matched no row. So a test that asserts inside a loop over
a collection it did not write out itself also checks, before or after the loop, that the collection is not
empty: `assert items`, `assert len(items) == 3`, `assert set(items) == {...}`, `[only] = items`.
"""

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# Wrappers that are empty exactly when what they wrap is: checking what they wrap is enough.
_WRAPPERS = {"enumerate", "zip", "sorted", "reversed", "list", "tuple", "set"}
_VIEWS = {"items", "values", "keys"}


def _is_written_out(node: ast.expr, constants: set[str]) -> bool:
    """A literal collection, a name or a call of this module that always holds or returns one, a `range(...)`
    or a comprehension over one of these: what it holds is in the test module's text."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.Constant):
        return True
    if isinstance(node, ast.Name) and node.id in constants:
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in constants:
        return True
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return all(not g.ifs and _is_written_out(g.iter, constants) for g in node.generators)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _VIEWS:
        return _is_written_out(node.func.value, constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "range":
            return True
        if node.func.id in _WRAPPERS and node.args:
            return all(_is_written_out(arg, constants) for arg in node.args)
    return False


def _is_non_empty_literal(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and bool(node.elts)


def _written_out_constants(scope: ast.Module | ast.FunctionDef) -> set[str]:
    """Names the module (at its top level) or the function binds to a non-empty literal (`PATHS = [...]`),
    and the module's functions that only ever return one."""
    statements = scope.body if isinstance(scope, ast.Module) else list(ast.walk(scope))
    names = {
        target.id
        for statement in statements
        if isinstance(statement, ast.Assign)
        and (
            _is_non_empty_literal(statement.value)
            or (isinstance(statement.value, ast.ListComp) and _is_written_out(statement.value, set()))
        )
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    if isinstance(scope, ast.Module):
        for function in statements:
            if isinstance(function, ast.FunctionDef):
                returns = [node for node in ast.walk(function) if isinstance(node, ast.Return)]
                if returns and all(_is_non_empty_literal(node.value) for node in returns):
                    names.add(function.name)
    return names


def _names_for(node: ast.expr) -> set[str]:
    """The expressions whose check also checks `node`: itself, and what a wrapper or a dict view wraps."""
    names = {ast.unparse(node)}
    if isinstance(node, ast.BinOp):  # `a + b`
        names |= _names_for(node.left) | _names_for(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _WRAPPERS:
        for arg in node.args:
            names |= _names_for(arg)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _VIEWS:
        names |= _names_for(node.func.value)
    return names


def _own_nodes(function: ast.FunctionDef):
    """The nodes of `function`'s body (not of functions or classes defined in it), each with the `for` loops
    whose body holds it."""
    stack = [(child, ()) for child in reversed(function.body)]
    while stack:
        node, loops = stack.pop()
        yield node, loops
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        is_loop = isinstance(node, ast.For | ast.AsyncFor)
        for child in reversed(list(ast.iter_child_nodes(node))):
            in_body = is_loop and child not in (node.target, node.iter)
            stack.append((child, (*loops, node) if in_body else loops))


def _is_check(node: ast.AST) -> bool:
    """An `assert`, or an unpacking (`[a] = items`, `a, b = items`), which fails on a short collection."""
    if isinstance(node, ast.Assert):
        return True
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Tuple | ast.List) for t in node.targets)


def _mentions(node: ast.AST, names: set[str]) -> bool:
    text = ast.unparse(node)
    return any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) for name in names)


def loop_only_assertions(source: str) -> list[str]:
    """The loops of `source`'s test functions that hold assertions and iterate over a collection the test
    neither writes out nor checks outside the loop."""
    module = ast.parse(source)
    module_constants = _written_out_constants(module)
    findings = []
    for function in ast.walk(module):
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test"):
            continue
        constants = module_constants | _written_out_constants(function)
        nodes = list(_own_nodes(function))
        asserting_loops = {
            loop
            for node, loops in nodes
            if isinstance(node, ast.Assert)
            for loop in loops
            if not _is_written_out(loop.iter, constants)
        }
        for loop in sorted(asserting_loops, key=lambda loop: loop.lineno):
            # A counter the loop adds to (`checked += 1`), checked after the loop, counts its runs.
            counters = {
                node.target.id
                for node, loops in nodes
                if loop in loops and isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
            }
            names = _names_for(loop.iter) | counters
            if not any(
                loop not in loops and node is not loop and _is_check(node) and _mentions(node, names)
                for node, loops in nodes
            ):
                findings.append(f"{function.name}, line {loop.lineno}: for ... in {ast.unparse(loop.iter)}")
    return findings


def test_no_test_asserts_inside_a_loop_over_a_collection_it_never_checks_is_non_empty():
    findings = [
        f"{path.relative_to(TESTS.parent)}: {finding}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for finding in loop_only_assertions(path.read_text())
    ]
    assert findings == [], "also assert the collection is not empty:\n" + "\n".join(findings)


def _test(body: str, module: str = "") -> str:
    """`body` (lines separated by "; ", a leading ">" per level of nesting) as a test after `module`."""
    source = module + "\ndef test_x():\n"
    for line in body.split("; "):
        depth = len(line) - len(line.lstrip(">"))
        source += "    " * (1 + depth) + line.lstrip("> ") + "\n"
    return source


def test_the_checker_finds_an_unchecked_loop_and_accepts_a_checked_or_written_out_one():
    found = loop_only_assertions
    assert found(_test("assert ok; for row in rows():; > assert row.ok")) == [
        "test_x, line 4: for ... in rows()"
    ]
    assert found(_test("assert all_items; for row in items:; > assert row")) == [
        "test_x, line 4: for ... in items"
    ]

    assert found(_test("items = rows(); assert items; for row in items:; > assert row")) == []
    assert found(_test("for k, v in d.items():; > assert v; assert len(d) == 2")) == []
    assert found(_test("[only] = items; for row in items:; > assert row")) == []
    assert found(_test("n = 0; for row in rows():; > assert row; > n += 1; assert n")) == []
    assert found(_test("for word in ('a', *WORDS):; > assert word", "WORDS = ['c']")) == []
    assert found(_test("for word, n in WORDS.items():; > assert word", "WORDS = {'c': 1}")) == []
    assert found(_test("for w in words():; > assert w", "def words():\n    return ['a']")) == []
