"""The product vocabulary is declared once: render qualities in tryons/qualities.py (organizations learns
their names from it when tryons is ready), renderers in tryons/renderers/registry.py. Everything else derives
from those declarations: no other module keys a dict by a quality or renderer name, lists several of them, or
compares a value against one; the README's tables state what the declarations say; and every quality has a
price, a size and a mode for the engines."""

import ast
from dataclasses import fields

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from organizations.models import render_qualities
from tests.architecture.rooms import (
    ORDER,
    ROOT,  # noqa: E402
)
from tests.tryons import test_pricing
from tryons import pricing
from tryons.engines import fashn
from tryons.engines.settings import EngineSettings
from tryons.qualities import QUALITIES
from tryons.renderers.registry import ENGINES, RENDERERS

DECLARATIONS = {"tryons/qualities.py", "tryons/renderers/registry.py"}
# Renderer names are also plain words ("http", "local"): they are the vocabulary only where renderers are
# chosen, in tryons and in config's TRYON_RENDERER.
RENDERER_APPS = {"config", "tryons"}


def _sources():
    for app in ORDER:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" not in path.parts and relative not in DECLARATIONS:
                yield relative, _vocabulary(app), ast.parse(path.read_text(), filename=relative)


def _vocabulary(app: str) -> set[str]:
    return set(QUALITIES) | (set(RENDERERS) if app in RENDERER_APPS else set())


def _names(node) -> list[str]:
    return [n.value for n in node if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def vocabulary_literals(tree, vocabulary: set[str]) -> list[tuple[int, str]]:
    """(line, what) for each dict keyed by a vocabulary name, collection of two or more of them, or
    comparison against one."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = set(_names(k for k in node.keys if k is not None)) & vocabulary
            if keys:
                found.append((node.lineno, f"a dict keyed by {sorted(keys)}"))
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = [name for name in _names(node.elts) if name in vocabulary]
            if len(names) >= 2:
                found.append((node.lineno, f"a list of {names}"))
        elif isinstance(node, ast.Compare):
            names = set(_names([node.left, *node.comparators])) & vocabulary
            if names:
                found.append((node.lineno, f"a comparison with {sorted(names)}"))
    return found


def test_no_module_but_the_declarations_writes_the_vocabulary_out():
    sources = list(_sources())
    assert len(sources) > 100
    found = {
        f"{path}:{line}": what
        for path, vocabulary, tree in sources
        for line, what in vocabulary_literals(tree, vocabulary)
    }
    assert found == {}, "use tryons.qualities / tryons.renderers.registry instead"


def test_the_rule_catches_a_dict_a_list_and_a_comparison():
    tree = ast.parse('MODES = {"sd": 1}\nCHOICES = ("local", "http")\nif name == "eventbridge": pass\n')
    assert [line for line, _ in vocabulary_literals(tree, set(QUALITIES) | set(RENDERERS))] == [1, 2, 3]


def test_the_quality_names_are_the_organization_settings_vocabulary_in_order():
    assert QUALITIES
    assert render_qualities() == tuple(QUALITIES)


@pytest.mark.parametrize("quality", list(QUALITIES))
def test_every_quality_has_a_price_a_size_and_a_mode_for_every_engine(quality):
    declared = QUALITIES[quality]
    assert declared.multiplier > 0
    assert pricing.single_tryon_price(quality=quality) == declared.multiplier
    counts = range(1, pricing.MAX_CART_ITEMS + 1)
    assert all(pricing.item_price(quality=quality, item_count=n) > 0 for n in counts)
    width, height = declared.size
    assert 0 < width < height, "portrait"
    # FASHN's modes (its engine and its models on fal); the other engines' models take no quality.
    assert declared.fashn_mode in fashn.MODES


def test_every_quality_has_its_price_test():
    """Adding a quality is one line in tryons.qualities plus its prices in tests/tryons/test_pricing.py."""
    assert set(test_pricing.SINGLE_PRICES) == set(QUALITIES)
    assert test_pricing.CART_TOTALS
    assert all(set(totals) == set(QUALITIES) for _, totals in test_pricing.CART_TOTALS)


@pytest.mark.parametrize("name", list(RENDERERS))
def test_every_renderer_names_code_and_settings_that_exist(name):
    kind = RENDERERS[name]
    engine_fields = {field.name for field in fields(EngineSettings)}
    assert kind.needs or kind.synchronous, "a renderer that calls out names the settings it needs"
    for variable in kind.needs:
        assert hasattr(settings, variable) or variable.lower() in engine_fields, variable
    if kind.engine:
        assert callable(import_string(kind.client).from_settings)
        assert kind.model_setting.lower() in engine_fields
    else:
        assert callable(import_string(kind.builder))
    if kind.check:
        assert callable(import_string(kind.check))
    assert not (kind.synchronous and (kind.callback or kind.engine)), "a result comes back one way"
    assert ENGINES


def _readme_table(header: str) -> list[list[str]]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_readme_tables_state_the_declarations():
    qualities = _readme_table("| Quality | Credits per item | Output size | FASHN mode |")
    assert qualities == [
        [f"`{q.name}`", str(q.multiplier), f"{q.size[0]}×{q.size[1]}", f"`{q.fashn_mode}`"]
        for q in QUALITIES.values()
    ]
    renderers = _readme_table("| Renderer | The worker waits for the image | The result arrives | Needs |")
    assert renderers == [
        [
            f"`{kind.name}`",
            "yes" if kind.synchronous else "no",
            "by the render callback"
            if kind.callback
            else "by polling the hosted engine"
            if kind.engine
            else "from the renderer",
            ", ".join(f"`{variable}`" for variable in kind.needs) or "—",
        ]
        for kind in RENDERERS.values()
    ]
    section = " ".join((ROOT / "README.md").read_text().split())
    assert pricing.volume_discounts_text() in section


def test_the_readme_names_every_declared_engine_model_and_working_size():
    section = " ".join((ROOT / "README.md").read_text().split())
    engines = [kind for kind in RENDERERS.values() if kind.engine]
    models = [model for kind in engines for model in kind.models]
    assert engines and models
    for model in models:
        assert f"`{model.name}" in section, model.name
        width, height = model.working_size
        assert f"{width}×{height}" in section, (model.name, model.working_size)
    for kind in engines:
        assert f"{kind.inline_max_bytes // (1024 * 1024)} MB" in section, kind.name
