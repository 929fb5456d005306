"""schemathesis against the running stack's /api/schema: no 5xx, and every response matches the schema.

Bounded so CI stays fast: at most E2E_FUZZ_EXAMPLES cases per operation and E2E_FUZZ_SECONDS in all. The seed
is fixed (E2E_FUZZ_SEED overrides it) so a CI failure reproduces locally with the same command.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.client import Partner, cart_items, expect
from tests.e2e.stack import BIN

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = os.environ.get("E2E_FUZZ_EXAMPLES", "25")
MAX_SECONDS = os.environ.get("E2E_FUZZ_SECONDS", "180")
SEED = os.environ.get("E2E_FUZZ_SEED", "7001")


def _config(*, organization_id: str, spare_key_id: str, data: dict) -> str:
    # Random ids only ever reach the 404 branch and random photo keys or garment URLs only the 400 branch;
    # binding path parameters (and, most of the time, those body fields) to real objects of the fuzzing
    # organization lets generated bodies and queries reach the code behind them. The probability below 1
    # keeps some generated values, so the refusals are still exercised.
    return f"""
parameters = {{ "body.customerPhotoS3Key" = {{ dictionary = "photos", probability = 0.8 }}, \
"body.cartItems[*].imageUrl" = {{ dictionary = "garments", probability = 0.8 }}, \
"body.imageUrl" = {{ dictionary = "garments", probability = 0.8 }} }}

[dictionaries.photos]
values = ["{data["photo_key"]}"]

[dictionaries.garments]
values = ["{data["garment_url"]}"]

[[operations]]
include-path-regex = "/organizations/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{organization_id}" }}

[[operations]]
include-path-regex = "/organizations/\\\\{{organization_id\\\\}}"
parameters = {{ "path.organization_id" = "{organization_id}", "path.key_id" = "{spare_key_id}" }}

[[operations]]
include-path-regex = "/customers/\\\\{{externalId\\\\}}"
parameters = {{ "path.externalId" = "{data["external_id"]}" }}

[[operations]]
include-path-regex = "/cart-tryons/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{data["session_id"]}" }}

[[operations]]
include-path-regex = "/v1/tryons/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{data["tryon_id"]}" }}

[[operations]]
include-path-regex = "/webhooks/\\\\{{webhookId\\\\}}"
parameters = {{ "path.webhookId" = "{data["webhook_id"]}", "path.deliveryId" = "{data["delivery_id"]}" }}
"""


def _fuzzing_data(partner: Partner, receiver, garments) -> dict:
    """Real objects of the fuzzing organization: a customer with a photo, a cart, a try-on, a delivery."""
    external_id = "fuzz-customer"
    partner.upsert_customer(external_id)
    photo_key = partner.upload_photo(external_id)["photoS3Key"]
    items = cart_items(garments)
    session = partner.create_cart(photo_key, items, quality="sd")
    tryon = expect(partner.post("/v1/tryons", json={"customerPhotoS3Key": photo_key, **items[0]}), 201)
    webhook = expect(
        partner.post("/v1/webhooks", json={"url": receiver.url("/fuzz"), "events": ["cart_tryon.completed"]}),
        201,
    )
    delivery = expect(partner.post(f"/v1/webhooks/{webhook['id']}/test"), 200)
    return {
        "external_id": external_id,
        "photo_key": photo_key,
        "garment_url": items[0]["imageUrl"],
        "session_id": session["id"],
        "tryon_id": tryon["id"],
        "webhook_id": webhook["id"],
        "delivery_id": delivery["deliveryId"],
    }


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    stack, operator, receiver, garments, tmp_path: Path
):
    organization = operator.create_organization("Fuzz Fashion")
    # Enough credits that generated carts reach the pipeline instead of stopping at InsufficientCredits.
    operator.top_up(organization["id"], 100_000)
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=10_000)
    # The key operations get a key of their own: fuzzing DELETE on it must not revoke the one fuzzing runs on.
    spare_key = operator.create_api_key(organization["id"], scopes=["tryon:read"])
    partner = Partner(stack.api, key["key"])
    data = _fuzzing_data(partner, receiver, garments)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(organization_id=organization["id"], spare_key_id=spare_key["id"], data=data))
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
