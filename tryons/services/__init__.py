"""The try-on pipeline: create and charge, render item by item, cancel and refund, sweep, erase.

Invariants every module here keeps, whatever crashes or runs twice:
- Credits move only through `organizations.services` with one reference per reason (`<session>` charge,
  `<session>:cancel`, `<session>:item:<n>:failed`, `<session>:item:<n>:rerun:<k>[:failed]` for staff
  re-runs, `<tryon>` and `<tryon>:failed` for single try-ons), so a repeated step can never charge or
  refund twice.
- Every state change is a conditional UPDATE on the current status (`queued → processing → completed`); the
  one caller that wins the UPDATE does the follow-up (refund, webhook event), everyone else does nothing.
- Item state lives on the item row, so a re-delivered task resumes: finished items are skipped, and a
  result stored just before a crash is picked up instead of rendered again.

One concept per module: creation, queue (naming the tasks), leases, processing, garments, settlement,
callback (asynchronous results), engine jobs (engine_handover, engine_jobs, engine_polls, engine_io),
cancellation, rerun (staff re-runs of failed items), sweeper, erasure; the events they emit are declared
in tryons.events. The service functions are re-exported here for callers outside tryons (other apps'
tests, bench); modules inside tryons import the module that defines a name, never this package, so that
nothing here imports itself back through it.
"""

from tryons.inputs import GarmentInput
from tryons.services.callback import tryon_render_callback
from tryons.services.cancellation import cart_session_cancel
from tryons.services.creation import (
    cart_session_create,
    tryon_create,
    tryon_estimated_completion,
)
from tryons.services.engine_jobs import engine_job_submit, engine_jobs_sweep
from tryons.services.engine_polls import engine_job_poll, engine_jobs_poll_due
from tryons.services.erasure import customer_results_erase
from tryons.services.garments import garment_image_check
from tryons.services.processing import RENDER_MAX_ATTEMPTS, cart_session_process, tryon_process
from tryons.services.rerun import cart_item_rerun, user_can_rerun
from tryons.services.sweeper import SWEEP_REQUEUE_LIMIT, tryon_sweep_stuck

__all__ = [
    "RENDER_MAX_ATTEMPTS",
    "SWEEP_REQUEUE_LIMIT",
    "GarmentInput",
    "cart_item_rerun",
    "cart_session_cancel",
    "cart_session_create",
    "cart_session_process",
    "customer_results_erase",
    "engine_job_poll",
    "engine_job_submit",
    "engine_jobs_poll_due",
    "engine_jobs_sweep",
    "garment_image_check",
    "tryon_create",
    "tryon_estimated_completion",
    "tryon_process",
    "tryon_render_callback",
    "tryon_sweep_stuck",
    "user_can_rerun",
]
