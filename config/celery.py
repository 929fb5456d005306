import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_entries_add(entries: dict) -> None:
    """Periodic work (run by `celery -A config beat`, or a worker started with --beat), declared by the app
    that
    owns it in its AppConfig.ready(): Django is set up before beat reads its schedule. Task names are explicit
    so each app's tasks.py can be reorganised without breaking the schedule."""
    app.conf.beat_schedule.update(entries)
