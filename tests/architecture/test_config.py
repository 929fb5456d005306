"""config/ holds configuration only: settings and their helpers, URLs, the Celery app, wsgi and asgi.

The API kernel is the `api` app and what the apps run on is the `infrastructure` package; the apps declare
their own periodic tasks (`config.celery.beat_entries_add` in their AppConfig.ready), so config names no
app's module and no app's task.
"""

import ast
import re
from pathlib import Path

from tests.architecture.rooms import ROOT

CONFIG = ROOT / "config"

# Everything config may hold: what Django, Celery and the servers are pointed at, and what settings.py reads.
CONFIGURATION = {
    "__init__.py",
    "settings.py",
    "urls.py",
    "celery.py",
    "wsgi.py",
    "asgi.py",
    "environment.py",
    "broker_settings.py",
    "observability_settings.py",
    "partner_settings.py",
    "portal_settings.py",
    "logging_settings.py",
    "datetime_format.py",
    "formats/__init__.py",
    "formats/en/__init__.py",
    "formats/en/formats.py",
}
# A beat entry's task, as Celery's schedule names it.
TASK_NAME = re.compile(r"""["']task["']\s*:\s*["'][^"']+["']""")


def _config_modules() -> list[Path]:
    return sorted(path for path in CONFIG.rglob("*.py") if "__pycache__" not in path.parts)


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_config_holds_configuration_only():
    modules = {str(path.relative_to(CONFIG)) for path in _config_modules()}
    assert modules, "config/ has no modules"
    assert modules - CONFIGURATION == set()


def test_config_imports_nothing_of_the_project_but_itself():
    project = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()} - {"config"}
    assert "api" in project and "tryons" in project
    paths = _config_modules()
    assert paths
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in project
        )
        for path in paths
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_config_names_no_app_task():
    paths = _config_modules()
    assert paths
    named = {str(path.relative_to(ROOT)): TASK_NAME.findall(path.read_text()) for path in paths}
    assert {path: names for path, names in named.items() if names} == {}


def test_every_periodic_task_is_declared_by_its_app():
    from config.celery import app

    schedule = app.conf.beat_schedule
    assert len(schedule) >= 9
    declared_in = {}
    for path in ROOT.glob("*/apps.py"):
        for name in re.findall(r'"([a-z-]+)": \{\s*"task"', path.read_text()):
            declared_in[name] = path.parent.name
    assert set(schedule) == set(declared_in)
