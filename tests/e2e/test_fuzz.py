"""schemathesis against the running stack's /api/schema: no 5xx, and every response matches the schema.

Bounded so CI stays fast: at most E2E_FUZZ_EXAMPLES cases per operation and E2E_FUZZ_SECONDS in all. The seed
is fixed (E2E_FUZZ_SEED overrides it) so a CI failure reproduces locally with the same command.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.client import Partner, expect
from tests.e2e.stack import BIN

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = os.environ.get("E2E_FUZZ_EXAMPLES", "25")
MAX_SECONDS = os.environ.get("E2E_FUZZ_SECONDS", "180")
SEED = os.environ.get("E2E_FUZZ_SEED", "7001")


def _config(organization_id: str, external_id: str, webhook_id: str) -> str:
    # Random ids only ever reach the 404 branch; binding the path parameters to real objects of the
    # fuzzing organization lets the generated bodies and queries reach the code behind it.
    return f"""
[[operations]]
include-path-regex = "/organizations/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{organization_id}" }}

[[operations]]
include-path-regex = "/organizations/\\\\{{organization_id\\\\}}"
parameters = {{ "path.organization_id" = "{organization_id}" }}

[[operations]]
include-path-regex = "/customers/\\\\{{externalId\\\\}}"
parameters = {{ "path.externalId" = "{external_id}" }}

[[operations]]
include-path-regex = "/webhooks/\\\\{{webhookId\\\\}}"
parameters = {{ "path.webhookId" = "{webhook_id}" }}
"""


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    stack, operator, receiver, garments, tmp_path: Path
):
    organization = operator.create_organization("Fuzz Fashion")
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=10_000)
    partner = Partner(stack.api, key["key"])
    partner.upsert_customer("fuzz-customer")
    partner.upload_photo("fuzz-customer")
    webhook = expect(
        partner.post("/v1/webhooks", json={"url": receiver.url("/fuzz"), "events": ["cart_tryon.completed"]}),
        201,
    )
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(organization["id"], "fuzz-customer", webhook["id"]))
    junit = tmp_path / "fuzz-junit.xml"
    argv = [
        str(BIN / "schemathesis"),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{stack.base_url}/api/schema",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--header",
        f"X-API-Key: {key['key']}",
        "--header",
        f"Authorization: Bearer {operator.access}",
        "--max-examples",
        MAX_EXAMPLES,
        "--max-time",
        MAX_SECONDS,
        "--seed",
        SEED,
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--output-truncate",
        "false",
    ]
    # cwd: schemathesis keeps a cache directory where it runs; keep it out of the checkout.
    run = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=int(MAX_SECONDS) + 300, check=False
    )
    output = run.stdout + run.stderr
    log = Path(stack.workdir) / "schemathesis.log"
    log.write_text(output)
    print(output[-6000:])
    # Only the report goes into the message: the command line carries the run's key and token.
    exit_code = run.returncode
    assert exit_code == 0, f"schemathesis found problems (full output: {log}):\n{output[-20000:]}"
