"""The shared test harnesses report what went wrong in a thread or a wait instead of hiding it or hanging."""

import threading
import time

import pytest

from tests.concurrency import run_concurrently, wait_until


def test_every_thread_is_released_together_and_results_come_back_in_order():
    arrived = []

    def record(index):
        arrived.append(index)
        return len(arrived), index * 10

    results = run_concurrently(record, 5)
    assert [value for _, value in results] == [0, 10, 20, 30, 40]


def test_an_exception_in_a_thread_fails_the_caller():
    def explode(index):
        if index == 2:
            raise ValueError("thread 2 failed")
        return index

    with pytest.raises(ValueError, match="thread 2 failed"):
        run_concurrently(explode, 4)


def test_exceptions_can_be_returned_for_the_test_to_inspect():
    outcomes = run_concurrently(lambda index: 1 / index, 2, return_exceptions=True)
    assert isinstance(outcomes[0], ZeroDivisionError) and outcomes[1] == 1


def test_a_thread_that_never_finishes_fails_within_the_timeout_instead_of_hanging():
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="1 of 2 threads"):
        run_concurrently(lambda index: index or release.wait(5), 2, timeout=0.3)
    release.set()
    assert time.monotonic() - started < 2


def test_wait_until_returns_the_first_truthy_outcome_and_fails_after_its_timeout():
    calls = []
    assert wait_until(lambda: calls.append(1) or (len(calls) >= 3 and "done"), interval=0.01) == "done"
    with pytest.raises(AssertionError, match="never"):
        wait_until(lambda: False, timeout=0.1, interval=0.01, message="never")
