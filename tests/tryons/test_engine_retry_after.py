"""How long a throttled engine call waits: as long as the provider says, in any of the forms providers say it
(tryons.engines.api): Retry-After in seconds or as an HTTP date, a `retry_after` field, or Replicate's
"resets in ~30s" in its words."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.engine_servers import FakeReplicate
from tests.http_servers import LocalServer, QuietHandler
from tryons.engines import api
from tryons.engines.base import EngineThrottled

pytestmark = pytest.mark.usefixtures("allow_private")


def _throttled(headers: dict, body: dict) -> EngineThrottled:
    class Handler(QuietHandler):
        def do_GET(self):
            self.reply(429, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})

    with LocalServer(Handler) as server, pytest.raises(EngineThrottled) as caught:
        api.call("Provider", "GET", server.url("/status"), headers={}, timeout=5)
    return caught.value


def test_a_429_that_says_when_only_in_its_words_waits_that_long():
    throttled = _throttled({}, {"detail": "Request was throttled. Your rate limit resets in ~30s."})
    assert throttled.retry_after == 30


def test_a_retry_after_given_as_an_http_date_waits_until_then():
    when = datetime.now(UTC) + timedelta(seconds=40)
    waited = _throttled({"Retry-After": format_datetime(when, usegmt=True)}, {}).retry_after
    assert 38 <= waited <= 40
    past = datetime.now(UTC) - timedelta(minutes=5)
    assert _throttled({"Retry-After": format_datetime(past, usegmt=True)}, {}).retry_after == 0


def test_replicates_documented_429_is_read_for_its_reset():
    fake = FakeReplicate()
    fake.script.append(("create", 429))
    auth = {"Authorization": f"Bearer {fake.key}"}
    with pytest.raises(EngineThrottled) as caught:
        api.call("Replicate", "POST", fake.url("/v1/predictions"), headers=auth, timeout=5, payload={})
    assert caught.value.retry_after == 1
    fake.close()
