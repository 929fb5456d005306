"""Shared harnesses for tests (and bench/) that race threads or wait for something to happen.

`run_concurrently` is the one "N threads at a barrier": the barrier and the joins have a timeout so a lost
thread fails the test instead of hanging the suite, every thread closes its own database connections (each
thread has its own), and an exception in a thread reaches the test instead of vanishing with the thread.
`wait_until` is the one polling loop: tests poll for the state they expect instead of sleeping a fixed time.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

DEFAULT_TIMEOUT = 30.0


def run_concurrently(
    fn: Callable[[int], Any], n: int, *, timeout: float = DEFAULT_TIMEOUT, return_exceptions: bool = False
) -> list[Any]:
    """Call `fn(index)` in `n` threads released together; return the results in index order.

    An exception raised by `fn` is re-raised here once every thread has finished (the first by index), or,
    with `return_exceptions`, returned in that thread's place for the test to inspect. The threads wait at
    most `timeout` seconds for each other at the barrier and the whole run must finish within `timeout`.
    """
    barrier = threading.Barrier(n, timeout=timeout)
    results: list[Any] = [None] * n
    errors: list[BaseException | None] = [None] * n

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = fn(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread below
            errors[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise TimeoutError(f"{stuck} of {n} threads still running after {timeout} s")
    if return_exceptions:
        return [error if error is not None else result for result, error in zip(results, errors, strict=True)]
    for error in errors:
        if error is not None:
            raise error
    return results


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "",
    ignore: tuple[type[Exception], ...] = (),
) -> Any:
    """Poll `predicate` until it returns something truthy and return that; fail after `timeout` seconds,
    saying `message` (what was waited for).

    An exception of a type in `ignore` (a probe of a server still starting) counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            outcome = predicate()
        except ignore as exc:
            outcome, last_error = None, exc
        if outcome:
            return outcome
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"{message or 'condition not met'} (waited {timeout} s){detail}")
        time.sleep(interval)
