"""Both SDKs' journeys and every sample of the partner guide, run as a partner runs them against the real
stack, once on each Celery broker (Redis, RabbitMQ).

The Python samples import `garmax` from sdks/python/src; the Node ones import `garmax` by its package name
from a folder whose node_modules/garmax is sdks/typescript, built once (npm ci, tsc) per session.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.client import expect
from tests.http_servers import free_port
from tests.images import person_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.each_broker]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "docs" / "guide" / "samples"
TYPESCRIPT_SDK = ROOT / "sdks" / "typescript"
RUNNERS = {".py": [sys.executable], ".mjs": ["node"], ".php": ["php"], ".sh": ["bash"]}
# Every sample file of the guide and a line its output must hold; tests/api/test_guide.py holds this table
# to the guide (every file referenced exists, every file here is in the folder and the folder in here).
SAMPLE_RUNS = {
    "quickstart.py": r"^status: completed$",
    "quickstart.mjs": r"^status: completed$",
    "errors.py": r"^404 ResourceNotFound: .* \(request \S+\)$",
    "pagination.py": r"^customers: [1-9]\d*$",
    "pagination.mjs": r"^customers: [1-9]\d*$",
    "idempotency.sh": r"(?i)^idempotent-replayed: true$",
    "rate_limits.sh": r"(?i)^x-ratelimit-remaining: \d+$",
    "versions.sh": r"^HTTP/1.1 200",
    "conditional_polling.sh": r"^HTTP/1.1 304",
    "webhooks_receiver.py": r"^verified after rotation: webhook.test$",
    "webhooks_receiver.mjs": r"^verified after rotation: webhook.test$",
    "looks.py": r"^look weekend: completed \S+$",
    "seed_client.py": r"^Blue T-Shirt: completed \S+$",
    "seed_client.mjs": r"^Blue T-Shirt: completed \S+$",
    "seed_client.php": r"^Blue T-Shirt: completed \S+$",
}
JOURNEYS = ["quickstart.py", "quickstart.mjs"]


@pytest.fixture(scope="session")
def node_project(tmp_path_factory):
    """A partner's Node project with the TypeScript SDK installed from the repository (built here)."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed for the TypeScript SDK (Node 20+)"
    for step in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
        run = subprocess.run(
            [npm, *step], cwd=TYPESCRIPT_SDK, capture_output=True, text=True, timeout=300, check=False
        )
        assert run.returncode == 0, f"npm {' '.join(step)} failed:\n{run.stdout}\n{run.stderr}"
    project = tmp_path_factory.mktemp("partner-node")
    (project / "node_modules").mkdir()
    (project / "node_modules" / "garmax").symlink_to(TYPESCRIPT_SDK, target_is_directory=True)
    return project


@pytest.fixture(scope="module")
def partner_env(stack, operator, garments, tmp_path_factory):
    """A new organization's test key and what the samples read from the environment."""
    organization = operator.create_organization(f"Guide Samples ({stack.broker})")
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=1000, mode="test")
    scratch = tmp_path_factory.mktemp(f"samples-{stack.broker}")
    photo = scratch / "me.jpg"
    photo.write_bytes(person_jpeg((400, 600), quality=90))
    stack_settings = ("DJANGO_", "GARMAX_", "PYTEST_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(stack_settings)}
    env.update(
        GARMAX_API_KEY=key["key"],
        GARMAX_BASE_URL=stack.api,
        PHOTO_PATH=str(photo),
        GARMENT_URL=garments.garment_url("tshirt"),
        TROUSERS_URL=garments.garment_url("jeans"),
        PYTHONPATH=str(ROOT / "sdks" / "python" / "src"),
    )
    return env, scratch


def run_sample(name: str, env: dict, scratch: Path, node_project: Path) -> str:
    sample = SAMPLES / name
    cwd = scratch
    if sample.suffix == ".mjs":
        # Copied into the partner's project, so that `import Garmax from "garmax"` resolves as it would there.
        cwd = node_project
        sample = Path(shutil.copy(sample, node_project / name))
    run = subprocess.run(
        [*RUNNERS[sample.suffix], str(sample)],
        cwd=cwd,
        env={**env, "PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, f"{name} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    assert re.search(SAMPLE_RUNS[name], run.stdout, re.M), f"{name} printed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.mark.parametrize("journey", JOURNEYS)
def test_sdk_journey_runs_key_customer_photo_cart_wait_result(journey, partner_env, node_project):
    env, scratch = partner_env
    output = run_sample(journey, env, scratch, node_project)
    assert "mode: test" in output
    assert re.search(r"^session cts_\w+: queued, 1(\.0+)? credits$", output, re.M), output
    (url,) = re.findall(r"^prod_001: completed (\S+)$", output, re.M)
    response = requests.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/")


def test_every_guide_sample_runs_and_prints_what_the_guide_says(stack, partner_env, node_project):
    """The guide's other samples once per broker (one test, to keep the e2e run short)."""
    env, scratch = partner_env
    others = [name for name in SAMPLE_RUNS if name not in JOURNEYS]
    assert len(others) == len(SAMPLE_RUNS) - 2
    for name in others:
        run_sample(name, env, scratch, node_project)
    answer = requests.get(f"{stack.api}/v1/account", headers={"X-API-Key": env["GARMAX_API_KEY"]}, timeout=30)
    account = expect(answer, 200)
    assert account["livemode"] is False
