"""The webhooks app stays readable: one concept per services module, no dead delivery path, views that read
through selectors, and services that reach their task without importing it back."""

import ast
import re
from pathlib import Path

import webhooks
from config.celery import app as celery_app
from webhooks import services

APP_DIR = Path(webhooks.__file__).parent


def test_every_webhooks_module_is_under_400_lines():
    sizes = {
        str(path.relative_to(APP_DIR)): len(path.read_text().splitlines())
        for path in APP_DIR.rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {name: lines for name, lines in sizes.items() if lines >= 400} == {}


def test_deliveries_are_sent_only_by_the_per_endpoint_task():
    celery_app.loader.import_default_modules()
    webhook_tasks = {name for name in celery_app.tasks if name.startswith("webhooks.")}
    assert "webhooks.deliver_endpoint" in webhook_tasks
    assert "webhooks.deliver" not in webhook_tasks  # the per-delivery task of "earlier releases"
    assert not hasattr(services, "webhook_delivery_attempt")


def test_views_tasks_and_other_apps_still_import_the_service_names_from_the_package():
    for name in [
        "webhook_create",
        "webhook_update",
        "webhook_enable",
        "webhook_delete",
        "webhook_rotate_secret",
        "webhook_event_record",
        "webhook_endpoints_wake",
        "webhook_deliveries_send_due",
        "webhook_deliveries_dispatch_due",
        "webhook_payloads_prune",
        "webhook_test_send",
        "webhook_delivery_redeliver",
        "webhook_recover",
        "FAILURES_BEFORE_DISABLE",
    ]:
        assert callable(getattr(services, name)) or isinstance(getattr(services, name), int), name


def test_attempt_rows_are_written_by_one_function_for_deliveries_and_the_test_event():
    sources = {path.name: path.read_text() for path in (APP_DIR / "services").glob("*.py")}
    writers = {
        name
        for name, text in sources.items()
        if "WebhookAttempt(" in text or "WebhookAttempt.objects.create" in text
    }
    assert writers == {"sending.py"}
    assert sources["sending.py"].count("WebhookAttempt(") == 1


def test_views_read_through_selectors_and_query_no_model_themselves():
    source = (APP_DIR / "views.py").read_text()
    # `Model.objects.none()` only tells DRF and the schema which model a viewset serves; it never queries.
    assert re.findall(r"\.objects\.(?!none\(\))\w+", source) == []
    assert "selectors." in source


def _imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_services_queue_the_sending_task_by_name_without_importing_the_tasks_module():
    modules = sorted((APP_DIR / "services").glob("*.py"))
    assert modules
    importers = [p.name for p in modules if any(m.startswith("webhooks.tasks") for m in _imported_modules(p))]
    assert importers == []
    celery_app.loader.import_default_modules()
    assert services.DELIVER_ENDPOINT_TASK in celery_app.tasks
