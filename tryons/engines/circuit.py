"""Per-engine circuit breaker: N consecutive failures open it for a while, and new items go to the fallback.

Failures are provider-side: a failed or timed-out render, a submit the provider answers with 5xx. A success
closes the circuit. Once the open period ends the engine gets traffic again, but its count is still at the
threshold, so one more failure re-opens it at once (half-open) while one success closes it.
Some answers say the engine cannot serve anyone (an account out of credits): `circuit_open` opens it at once,
with the reason kept for the staff console and counted for the operator's alert.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from infrastructure.observability import metrics
from tryons.engines.settings import engine_settings
from tryons.models import EngineCircuit


def circuit_is_open(engine: str) -> bool:
    return EngineCircuit.objects.filter(engine=engine, open_until__gt=timezone.now()).exists()


def circuit_failure(engine: str) -> None:
    s = engine_settings()
    EngineCircuit.objects.get_or_create(engine=engine)
    # One UPDATE, so concurrent failures all count.
    EngineCircuit.objects.filter(engine=engine).update(consecutive_failures=F("consecutive_failures") + 1)
    EngineCircuit.objects.filter(engine=engine, consecutive_failures__gte=s.circuit_failures).update(
        open_until=timezone.now() + timedelta(seconds=s.circuit_open_seconds)
    )


def circuit_open(engine: str, *, reason: str) -> None:
    """Open the engine's circuit now for the open period, at the threshold (so it stays half-open after),
    whatever its count was; `reason` (e.g. out_of_credits) is shown in the console and counted."""
    s = engine_settings()
    EngineCircuit.objects.get_or_create(engine=engine)
    EngineCircuit.objects.filter(engine=engine).update(
        consecutive_failures=Greatest(F("consecutive_failures"), s.circuit_failures),
        open_until=timezone.now() + timedelta(seconds=s.circuit_open_seconds),
        open_reason=reason[:40],
    )
    transaction.on_commit(lambda: metrics.engine_circuit_opened(engine=engine, reason=reason))


def circuit_success(engine: str) -> None:
    EngineCircuit.objects.filter(engine=engine).exclude(
        consecutive_failures=0, open_until=None, open_reason=""
    ).update(consecutive_failures=0, open_until=None, open_reason="")


def circuits_open_until(engines) -> dict[str, object]:
    """When each of `engines` whose circuit is open now closes again (engines whose circuit is closed are
    absent)."""
    return dict(
        EngineCircuit.objects.filter(engine__in=list(engines), open_until__gt=timezone.now()).values_list(
            "engine", "open_until"
        )
    )
