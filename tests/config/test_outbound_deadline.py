"""Every outbound request has a total wall-clock deadline, connect + headers + body.

The peer is a real local server dripping one byte a second: each byte beats any per-read socket timeout,
so without a deadline the client waits for the whole trickle (12 s here, against a 2 s budget).
"""

import multiprocessing

import pytest

from infrastructure import outbound
from tests.http_servers import SlowServer, timed

BUDGET = 2.0
MARGIN = 1.5  # thread scheduling on a loaded 2-core machine


@pytest.fixture(autouse=True)
def private_networks_on(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture(params=["headers", "body", "body-until-close"])
def slow_server(request):
    server = SlowServer(request.param)
    yield server
    server.close()


def test_garment_fetch_from_a_trickling_server_ends_at_its_deadline(slow_server):
    elapsed, outcome = timed(
        lambda: outbound.fetch_bytes(slow_server.url(), max_bytes=1024 * 1024, timeout=BUDGET)
    )

    assert isinstance(outcome, outbound.OutboundFailed)
    assert not isinstance(outcome, outbound.OutboundRejected)  # too slow is worth another try
    assert str(outcome) == "Request took longer than 2 s."
    assert elapsed < BUDGET + MARGIN


def test_one_deadline_covers_every_hop_of_a_redirected_garment_fetch(slow_server):
    elapsed, outcome = timed(
        lambda: outbound.fetch_bytes(
            slow_server.url("/redirect/garment.png"), max_bytes=1024 * 1024, timeout=BUDGET
        )
    )

    assert isinstance(outcome, outbound.OutboundFailed)
    assert str(outcome) == "Request took longer than 2 s."
    assert elapsed < BUDGET + MARGIN
    assert slow_server.requests == 2


@pytest.mark.parametrize("keep_alive", [False, True])
def test_webhook_post_to_a_trickling_receiver_ends_at_its_deadline(slow_server, keep_alive):
    elapsed, outcome = timed(
        lambda: outbound.post(
            slow_server.url("/hooks"),
            data=b'{"event":"webhook.test"}',
            headers={"Content-Type": "application/json"},
            timeout=BUDGET,
            max_response_bytes=1024,
            keep_alive=keep_alive,
        )
    )

    assert isinstance(outcome, outbound.OutboundFailed)
    assert str(outcome) == "Request took longer than 2 s."
    assert elapsed < BUDGET + MARGIN


@pytest.mark.parametrize("mode", ["headers", "body", "body-until-close"])
def test_an_answer_within_the_deadline_is_read_whole(mode):
    server = SlowServer(mode, trickle_bytes=12, interval=0.02)
    try:
        body, content_type = outbound.fetch_bytes(server.url(), max_bytes=1024, timeout=BUDGET)
    finally:
        server.close()

    assert (body, content_type) == (b"ok" if mode == "headers" else b"x" * 12, "image/png")


def _fetch_in_child(url: str, results) -> None:
    elapsed, outcome = timed(lambda: outbound.fetch_bytes(url, max_bytes=1024, timeout=BUDGET))
    results.put((elapsed, str(outcome)))


def test_deadlines_are_kept_in_a_forked_worker_process():
    # Celery's prefork pool forks worker processes; the watchdog thread of the parent does not come along.
    server = SlowServer("headers")
    try:
        with outbound.Deadline(BUDGET):  # the parent's watchdog is running when the child is forked
            pass
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        child = context.Process(target=_fetch_in_child, args=(server.url(), results))
        child.start()
        elapsed, outcome = results.get(timeout=30)
        child.join(timeout=10)
    finally:
        server.close()

    assert outcome == "Request took longer than 2 s."
    assert elapsed < BUDGET + MARGIN
