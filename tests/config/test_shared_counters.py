"""Short-lived shared counters (infrastructure.shared_cache): on Redis when it is configured, else local
memory."""

import time

from infrastructure.shared_cache import shared_counter_add, shared_counter_start, shared_counters_get


def test_a_counter_starts_once_takes_additions_and_expires():
    assert shared_counters_get(["counter:a"])[0] is None
    shared_counter_add("counter:a", 5)  # not started: dropped, not a counter from zero
    assert shared_counters_get(["counter:a"])[0] is None

    shared_counter_start("counter:a", 10, timeout=1)
    shared_counter_start("counter:a", 99, timeout=1)  # a slower reader's count does not overwrite
    shared_counter_add("counter:a", 3)
    assert shared_counters_get(["counter:a"])[0] == 13

    time.sleep(1.2)
    assert shared_counters_get(["counter:a"])[0] is None
    shared_counter_add("counter:a", 3)
    assert shared_counters_get(["counter:a"])[0] is None


def test_counters_are_read_together_in_the_order_asked():
    shared_counter_start("counter:b", 2, timeout=5)
    shared_counter_start("counter:c", 0, timeout=5)
    assert shared_counters_get(["counter:c", "counter:none", "counter:b"]) == [0, None, 2]
