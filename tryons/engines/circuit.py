"""Per-engine circuit breaker: N consecutive failures open it for a while, and new items go to the fallback.

Failures are provider-side: a failed or timed-out render, a submit the provider answers with 5xx. A success
closes the circuit. Once the open period ends the engine gets traffic again, but its count is still at the
threshold, so one more failure re-opens it at once (half-open) while one success closes it.
"""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

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


def circuit_success(engine: str) -> None:
    EngineCircuit.objects.filter(engine=engine).exclude(consecutive_failures=0, open_until=None).update(
        consecutive_failures=0, open_until=None
    )
