import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Publish times on task messages and the worker's metrics port (config/observability/worker.py).
import config.observability.worker  # noqa: E402, F401

# Periodic work (run by `celery -A config beat`, or a worker started with --beat). Task names are explicit
# so each app's tasks.py can be reorganised without breaking the schedule.
app.conf.beat_schedule = {
    "flush-api-usage": {"task": "apikeys.flush_usage", "schedule": 5.0},
    "prune-api-usage": {"task": "apikeys.prune_usage", "schedule": 3600.0},
    "record-expired-api-keys": {"task": "apikeys.record_expired_keys", "schedule": 60.0},
    "retry-customer-erasures": {"task": "customers.retry_pending_erasures", "schedule": 60.0},
    "dispatch-due-webhook-deliveries": {"task": "webhooks.dispatch_due_deliveries", "schedule": 10.0},
    "prune-webhook-payloads": {"task": "webhooks.prune_payloads", "schedule": 3600.0},
    "requeue-stale-bulk-jobs": {"task": "bulk.requeue_stale_jobs", "schedule": 60.0},
    "expire-customer-exports": {"task": "bulk.expire_exports", "schedule": 300.0},
}


@app.on_after_configure.connect
def _schedule_the_sweeper(sender, **kwargs):
    # Settings are read once configured, never at import: a settings module that imports config (bench's)
    # would otherwise be read half-defined.
    # Dead workers' try-ons are resumed within a heartbeat timeout plus this interval (tryons.heartbeats).
    sender.conf.beat_schedule["sweep-stuck-tryons"] = {
        "task": "tryons.sweep_stuck_sessions",
        "schedule": float(settings.TRYON_SWEEP_INTERVAL_SECONDS),
    }
