"""A web process that stops gracefully loses no usage record, even with its pusher thread mid-push."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.shared_cache import redis_client
from usage import buffer

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]

# A web process in miniature: records as partner responses do, then returns from its main code normally
# (what gunicorn's graceful worker exit does), leaving its last batch to the atexit push.
WEB_PROCESS = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from usage import buffer
for n in range({count}):
    buffer.usage_record(key_id="key_x", method="GET", route="/api/v1/customers", status_code=200,
                              duration_ms=1, request_id=f"req_{{n}}")
"""


@pytest.mark.parametrize("count", [1, 199, 1_234])  # under a batch, and several batches with a remainder
def test_a_graceful_exit_pushes_every_record(count):
    redis = redis_client()
    redis.delete(buffer.BUFFER_KEY)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", WEB_PROCESS.format(count=count)], check=True, env=env, cwd=ROOT, timeout=60
    )
    lines = redis.lrange(buffer.BUFFER_KEY, 0, -1)
    assert len(lines) == count
    assert {line.decode().split('"req_')[1].split('"')[0] for line in lines} == {str(n) for n in range(count)}
