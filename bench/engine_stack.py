"""What the hosted-engine benchmarks stand on (no `__main__`: not a benchmark itself): an organization with a
customer's photo, a shop's CDN and FASHN's fake on loopback, and one worker of the tryons queue pointed at
that fake with the engine cap given."""

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.management import call_command

from api.ids import new_id
from config.celery import app as celery_app
from organizations.services import organization_create
from tests.engine_servers import FakeFashn, engine_environment
from tests.factories import UserFactory
from tests.http_servers import GarmentServer
from tests.tryons.conftest import make_photo
from tests.workers import start_worker, stop_worker


@contextlib.contextmanager
def fashn_stack(*, name: str, render_seconds: float, cap: int, concurrency: int, env: dict | None = None):
    """Yields (organization, photo, garments, fake) while one worker renders on the fake; `env` adds to the
    worker's environment."""
    call_command("migrate", verbosity=0)
    garments = GarmentServer()
    fake = FakeFashn(render_seconds=render_seconds)
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name=name)
    photo = make_photo(organization)
    worker_env = {
        **os.environ,
        "TRYON_RENDERER": "fashn",
        "TRYON_ENGINE_MAX_IN_FLIGHT": str(cap),
        **engine_environment("fashn", fake),
        **(env or {}),
    }
    log = Path(tempfile.mkdtemp(prefix="garmax-bench-")) / "worker.log"
    celery_app.control.purge()  # countdown tasks a previous run's worker gave back
    worker = start_worker(
        "-Q", "tryons", "-c", str(concurrency), "--without-mingle", "--without-gossip", "-l", "info",
        env=worker_env, log=log,
    )  # fmt: skip
    try:
        yield organization, photo, garments, fake
    finally:
        stop_worker(worker, timeout=60)
        garments.close()
        fake.close()
