"""Fixtures for the hosted-engine tests: a fake provider per engine, and countdown tasks run on demand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.engine_servers import FAKES, engine_environment
from tryons import services
from tryons.engines.settings import engine_settings
from tryons.models import EngineJob


class Tasks:
    """Countdown tasks as the engine code schedules them; `run_until_idle` runs them now, in order, as a
    worker would once each countdown passed (the countdowns themselves are recorded for assertions)."""

    def __init__(self, capture):
        self.queued: list[tuple[str, str, float]] = []
        self.ran: list[tuple[str, str, float]] = []
        self.capture = capture

    def record(self, task, object_id, *, countdown):
        self.queued.append((task, object_id, countdown))

    def run_next(self):
        task, object_id, countdown = self.queued.pop(0)
        self.ran.append((task, object_id, countdown))
        with self.capture(execute=True):
            if task == "tryons.engine_job_poll":
                # The countdown passing: every job due by then is due now, and the one poll task scheduled
                # for a batch polls all of its engine's due jobs, as in the worker.
                now = timezone.now()
                EngineJob.objects.filter(
                    state="submitted", next_step_at__lte=now + timedelta(seconds=countdown)
                ).update(next_step_at=now)
                services.engine_jobs_poll_due(job_id=object_id)
            else:
                services.engine_job_submit(job_id=object_id)

    def run_until_idle(self, limit=100):
        for _ in range(limit):
            if not self.queued:
                return
            self.run_next()
        raise AssertionError(f"still scheduling after {limit} steps: {self.queued[:5]}")


@pytest.fixture
def tasks(monkeypatch, django_capture_on_commit_callbacks):
    tasks = Tasks(django_capture_on_commit_callbacks)
    monkeypatch.setattr("tryons.services.queue.enqueue_later", tasks.record)
    return tasks


def use_engine(name, fake, monkeypatch, settings, **env):
    """Point TRYON_RENDERER at engine `name`, served by `fake`; `env` adds engine settings."""
    for variable, value in {**engine_environment(name, fake), **env}.items():
        monkeypatch.setenv(variable, str(value))
    settings.TRYON_RENDERER = name
    engine_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_engine_settings():
    engine_settings.cache_clear()
    yield
    engine_settings.cache_clear()


@pytest.fixture(params=sorted(FAKES))
def engine(request, monkeypatch, settings, allow_private):
    """Each engine in turn, against its fake provider: yields (name, fake)."""
    fake = FAKES[request.param]()
    use_engine(request.param, fake, monkeypatch, settings)
    yield request.param, fake
    fake.close()


def start_fake(name, monkeypatch, settings, **env):
    fake = FAKES[name]()
    use_engine(name, fake, monkeypatch, settings, **env)
    return fake
