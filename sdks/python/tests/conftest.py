"""Fixtures: a scripted API on loopback and a client pointed at it, with retries' waits recorded, not slept."""

import sys
from pathlib import Path

import pytest

# The package from the source tree, whether or not it was pip-installed into this environment.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from garmax_fake_api import FakeAPI  # noqa: E402


@pytest.fixture
def fake_api():
    api = FakeAPI()
    yield api
    api.close()


@pytest.fixture
def client(fake_api):
    import garmax

    client = garmax.Garmax(api_key="gx_test_" + "a" * 32, base_url=fake_api.base_url, max_retries=3)
    client.slept = []
    client._transport._sleep = client.slept.append  # no real waiting; the delays asked for are recorded
    return client
