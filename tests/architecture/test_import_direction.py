"""Imports point one way: config <- api <- infrastructure <- organizations <- apikeys <- usage <- customers
<- webhooks <- tryons.

An app may import only the apps before it. The later apps reach back through a mixin attribute
(`credential_error`), a signal sent on commit (`organization_status_changed`) and registries
(`customers.erasure`; apikeys.partner's request recorders, where usage records each partner request).
Function-level imports count too: deferring an import does not reverse an arrow.
"""

import ast
from pathlib import Path

import pytest

from tests.architecture.rooms import ORDER, ROOT, room_sources


def _imported_apps(path: Path) -> set[str]:
    apps = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            apps.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            apps.update(alias.name.split(".")[0] for alias in node.names)
    return apps & set(ORDER)


@pytest.mark.parametrize("app", ORDER)
def test_an_app_imports_only_the_apps_before_it(app):
    later = set(ORDER[ORDER.index(app) + 1 :])
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path) & later)
        for path in room_sources([app])
        if _imported_apps(path) & later
    }
    assert wrong == {}
