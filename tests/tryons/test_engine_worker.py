"""A real Celery worker (concurrency 2, Redis broker, PostgreSQL) renders a cart on a hosted engine's fake.

Default engine settings (poll interval, cap, timeouts). The fake takes 2 s per render: with two worker slots
and no slot held while the provider works, all ten items are in flight at the provider at once.
"""

import os

import pytest

from tests import workers
from tests.concurrency import wait_until
from tests.engine_servers import FakeFashn, engine_environment
from tryons.models import CartTryOnSession, EngineJob

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_with_two_slots_keeps_a_whole_cart_in_flight_at_the_engine(
    organization, make_cart_session, garment_server, allow_private, media_root, settings
):
    fake = FakeFashn(render_seconds=2.0)
    env = {
        **os.environ,
        "DATABASE_URL": workers.worker_database_url(),
        "MEDIA_ROOT": media_root,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "TRYON_RENDERER": "fashn",
        **engine_environment("fashn", fake),
    }
    worker = workers.start_worker(
        "-c", "2", "--without-mingle", "--without-gossip", "-l", "warning",
        env=env, log=os.environ.get("WORKER_LOG"), wait_ready=False,
    )  # fmt: skip
    try:
        session = make_cart_session([garment_server.url("/garment.png")] * 10, quality="sd")
        wait_until(
            lambda: CartTryOnSession.objects.get(pk=session.id).status == "completed",
            timeout=90,
            interval=0.2,
            message="the cart did not complete on the fake engine",
        )
    finally:
        workers.stop_worker(worker, timeout=10)
        fake.close()

    assert fake.in_flight_peak == 10, "every item was at the provider at once: no worker slot waited on one"
    jobs = EngineJob.objects.filter(tryon__session=session)
    assert set(jobs.values_list("state", flat=True)) == {"succeeded"}
    assert all(item.renderer == "fashn" and item.render_ms >= 2000 for item in session.items.all())
