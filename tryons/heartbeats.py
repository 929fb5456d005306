"""The lease a worker holds on a cart session or single try-on while it processes it, kept up by heartbeats.

A worker that claims a row writes a fresh random token into its `lease` and stamps `heartbeat_at` every
TRYON_HEARTBEAT_SECONDS from a background thread, also while one item blocks for minutes in a download or a
render. A SIGKILLed worker stops stamping; once the heartbeat is older than TRYON_HEARTBEAT_TIMEOUT_SECONDS
the sweeper hands the row to a new run (`tryons.services.sweeper`). Every stamp is conditional on
the token, so a run that was presumed dead and replaced learns it on its next beat and stops.
"""

import logging
import secrets
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_new() -> str:
    return secrets.token_hex(16)


class Heartbeat:
    """Stamp the row's `heartbeat_at` while the `with` block runs, for as long as its lease is `lease`."""

    def __init__(self, model, pk: str, lease: str):
        self.model, self.pk, self.lease = model, pk, lease
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{pk}", daemon=True)

    def beat(self) -> bool:
        """Stamp now; False (and `lost` set) once another run holds the lease."""
        if not self.model.objects.filter(pk=self.pk, lease=self.lease).update(heartbeat_at=timezone.now()):
            self.lost.set()
        return not self.lost.is_set()

    def release(self) -> None:
        """Give the row up on a clean exit: what it still waits for (a callback) is not a dead worker's."""
        self.model.objects.filter(pk=self.pk, lease=self.lease).update(lease="")

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.TRYON_HEARTBEAT_SECONDS):
                try:
                    if not self.beat():
                        logger.warning(
                            "%s %s was handed to another run; this one stops", self.model.__name__, self.pk
                        )
                        return
                except Exception:  # noqa: BLE001 - a missed beat is retried; only a long outage loses the lease
                    logger.warning("heartbeat for %s failed", self.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own database connection

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
