"""A partner's whole journey over HTTP against the real stack, then seed 001's own client examples; once on
each Celery broker (Redis, RabbitMQ)."""

import hashlib
import hmac
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from PIL import Image
from standardwebhooks import Webhook

from tests.concurrency import wait_until
from tests.e2e.client import Partner, cart_items, expect
from tests.e2e.stack import PROBE_FAILURES

pytestmark = [pytest.mark.e2e, pytest.mark.each_broker]

SEED = Path(os.environ.get("GARMAX_SEED_001", "/work/shared/seeds/001_908b79fe5522f3fd.txt"))
CART_EVENTS = ["cart_tryon.completed", "cart_tryon.partial", "cart_tryon.failed"]


def assert_downloads_image(url: str) -> Image.Image:
    response = requests.get(url, timeout=30)  # a plain GET: the signed URL is the only credential
    assert response.status_code == 200, f"GET {url} -> {response.status_code}: {response.text[:300]}"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.width > 0 and image.height > 0
    return image


def assert_signed_by(delivery, secret: str) -> dict:
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery.headers["x-webhook-signature"], expected)
    # Standard Webhooks: signature over "{id}.{timestamp}.{body}" and a fresh timestamp (replay window).
    return Webhook(secret).verify(delivery.body, delivery.headers)


def seed_code_block(heading: str, language: str) -> str:
    text = SEED.read_text()
    section = text.split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under {heading!r} in {SEED}"
    return match.group(1)


def substitute(code: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in code, f"the seed example no longer contains {old!r}"
        code = code.replace(old, new)
    return code


_JOURNEYS: dict[tuple[str, str], dict] = {}
ABORT_SUFFIX = "-abort"


def _abort_at_abort_paths(request):
    """The shared receiver's answer: 200, except at an endpoint whose path ends with ABORT_SUFFIX, which asks
    for no more retries of the message (Svix's `webhook-delivery: abort-message`)."""
    if request.path.endswith(ABORT_SUFFIX):
        return 422, {"webhook-delivery": "abort-message"}, b"unknown cart", 0
    return 200, {"Content-Type": "application/json"}, b'{"received": true}', 0


def _journey(mode, stack, operator, garments, receiver) -> dict:
    """Everything up to the first finished cart with a key of `mode`: once per mode on each broker's stack."""
    if (stack.broker, mode) in _JOURNEYS:
        return _JOURNEYS[stack.broker, mode]
    # The receiver outlives a stack: each broker's journey in each mode has its own path.
    state = {"mode": mode, "path": f"/flow-{stack.broker}-{mode}"}
    organization = operator.create_organization(f"Acme Fashion ({mode}, {stack.broker})")
    assert organization["credits"] == 100
    key = operator.create_api_key(organization["id"], scopes=["all"], rate_limit=1000, mode=mode)
    assert key["key"].startswith(f"gx_{mode}_")
    partner = Partner(stack.api, key["key"])
    webhook = expect(
        partner.post(
            "/v1/webhooks",
            json={
                "url": receiver.url_at(state["path"]),
                "events": CART_EVENTS,
                "description": "e2e receiver",
            },
        ),
        201,
    )
    assert webhook["secret"].startswith("whsec_") and webhook["isActive"] is True
    # A second endpoint with its own policy and header, whose receiver refuses the message for good.
    receiver.respond = _abort_at_abort_paths
    aborting = expect(
        partner.post(
            "/v1/webhooks",
            json={
                "url": receiver.url_at(state["path"] + ABORT_SUFFIX),
                "events": CART_EVENTS,
                "retryPolicy": {"maxRetries": 5, "schedule": [1]},
                "headers": {"Authorization": "Bearer e2e-receiver"},
                "metadata": {"team": "checkout"},
            },
        ),
        201,
    )
    assert aborting["retryPolicy"] == {
        "maxRetries": 5,
        "schedule": [1, 3, 9, 27, 81],
        "inherited": False,
    }
    assert aborting["headers"] == {"Authorization": "********"}
    customer = partner.upsert_customer("customer_12345")
    photo = partner.upload_photo("customer_12345")
    # A test key works in the organization's sandbox: its own id in storage keys, never the live one's.
    assert (photo["photoS3Key"].startswith(f"enterprise/org-{organization['id']}/photos/")) is (
        mode == "live"
    )
    session = partner.create_cart(photo["photoS3Key"], cart_items(garments), quality="hd")
    state.update(
        organization=organization,
        partner=partner,
        webhook=webhook,
        aborting=aborting,
        customer=customer,
        photo=photo,
        session=session,
        credits_after_create=_balance(partner),
        live_credits_after_create=operator.credits(organization["id"]),
        finished=partner.wait_for_cart(session["id"], timeout=120),
    )
    _JOURNEYS[stack.broker, mode] = state
    return state


def _balance(partner) -> Decimal:
    """The balance of the key's mode, as the partner reads it through the key (GET /v1/account)."""
    return Decimal(str(expect(partner.get("/v1/account"), 200)["credits"]))


@pytest.fixture(scope="module", params=["test", "live"])
def journey(request, stack, operator, garments, receiver):
    return _journey(request.param, stack, operator, garments, receiver)


@pytest.fixture(scope="module")
def live_journey(stack, operator, garments, receiver):
    """The live journey, for seed 001's examples (they run once, with a live key)."""
    return _journey("live", stack, operator, garments, receiver)


def test_cart_is_charged_four_credits_at_creation(journey):
    session = journey["session"]
    assert session["status"] == "queued"
    assert session["itemCount"] == 2
    assert Decimal(str(session["creditsCharged"])) == 4
    assert journey["credits_after_create"] == Decimal(96)
    # A test cart spends the sandbox balance only: the live balance does not move.
    live_expected = Decimal(96) if journey["mode"] == "live" else Decimal(100)
    assert journey["live_credits_after_create"] == live_expected


def test_cart_completes_and_every_result_downloads_an_image(journey, operator):
    finished = journey["finished"]
    assert finished["status"] == "completed", finished
    assert finished["progress"] == 100
    assert len(finished["cartItems"]) == 2
    for item in finished["cartItems"]:
        assert item["status"] == "completed"
        assert_downloads_image(item["resultUrl"])
    # completed carts keep their charge: still 96 (the sandbox's in test mode, where live stays at 100)
    assert _balance(journey["partner"]) == Decimal(96)
    live_expected = Decimal(96) if journey["mode"] == "live" else Decimal(100)
    assert operator.credits(journey["organization"]["id"]) == live_expected
    if journey["mode"] == "test":
        assert all(entry["type"] == "grant" for entry in operator.ledger(journey["organization"]["id"]))


def test_photo_url_is_a_working_signed_url(journey):
    image = assert_downloads_image(journey["photo"]["photoUrl"])
    assert (image.width, image.height) == (400, 600)


def test_completed_webhook_arrives_signed_both_ways(journey, receiver):
    session_id = journey["session"]["id"]

    def arrived():
        return [
            d
            for d in receiver.received(journey["path"])
            if json.loads(d.body).get("data", {}).get("sessionId") == session_id
        ]

    deliveries = wait_until(
        arrived,
        timeout=60,
        interval=0.2,
        ignore=PROBE_FAILURES,
        message="waiting for cart_tryon.completed webhook",
    )
    assert len(deliveries) == 1, "one event, delivered once"
    payload = assert_signed_by(deliveries[0], journey["webhook"]["secret"])
    assert payload["event"] == "cart_tryon.completed"
    assert payload["id"].startswith("evt_")
    assert payload["livemode"] is (journey["mode"] == "live")
    data = payload["data"]
    assert data["organizationId"] == journey["organization"]["id"]  # one id in both modes
    assert (data["itemCount"], data["successCount"], data["failureCount"]) == (2, 2, 0)
    for result in data["results"]:
        assert_downloads_image(result["resultUrl"])


def test_an_endpoint_whose_receiver_aborts_gets_the_message_once_with_its_header(journey, receiver):
    path = journey["path"] + ABORT_SUFFIX
    session_id = journey["session"]["id"]

    def arrived():
        return [
            d for d in receiver.received(path) if json.loads(d.body)["data"].get("sessionId") == session_id
        ]

    (delivery,) = wait_until(arrived, timeout=60, interval=0.2, message="waiting for the aborting endpoint")
    assert delivery.headers["Authorization"] == "Bearer e2e-receiver"
    assert_signed_by(delivery, journey["aborting"]["secret"])
    webhook_id = journey["aborting"]["id"]

    def settled():
        logged = expect(journey["partner"].get(f"/v1/webhooks/{webhook_id}/deliveries"), 200)["data"]
        return [d for d in logged if d["status"] == "failed"]

    (failed,) = wait_until(settled, timeout=30, interval=0.2, message="waiting for the delivery to fail")
    assert failed["attemptCount"] == 1 and "abort-message" in failed["lastError"]
    time.sleep(2)  # its policy would have retried after 1 s
    assert len(arrived()) == 1
    endpoint = expect(journey["partner"].get(f"/v1/webhooks/{webhook_id}"), 200)
    assert endpoint["isActive"] is True and endpoint["consecutiveFailures"] == 0
    assert endpoint["metadata"] == {"team": "checkout"}


def test_seed_python_example_runs_unchanged(stack, operator, live_journey, garments):
    journey = live_journey
    organization_id = journey["organization"]["id"]
    code = substitute(
        seed_code_block("### Python", "python"),
        {
            "API_KEY = 'gx_live_abc123...'": f"API_KEY = {journey['partner'].key!r}",
            "BASE_URL = 'https://api.garmaxai.com/api'": f"BASE_URL = {stack.api!r}",
            "'enterprise/org-abc/photos/customer.jpg'": repr(journey["photo"]["photoS3Key"]),
            "'https://shop.com/tshirt.jpg'": repr(garments.garment_url("tshirt")),
        },
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert run.returncode == 0, f"seed Python example failed:\n{run.stdout}\n{run.stderr}"
    assert "Status: completed, Progress: 100%" in run.stdout, run.stdout
    urls = re.findall(r"^Blue T-Shirt: (\S+)$", run.stdout, re.M)
    assert len(urls) == 1, run.stdout
    assert_downloads_image(urls[0])
    # The example's cart is one hd item, the journey's own T-shirt on the same photo again: an identical
    # render, handed out again (README, "Render reuse") and refunded whole at the default reusedRenderPrice.
    newest = expect(journey["partner"].get("/v1/cart-tryons", params={"limit": 1}), 200)["data"][0]
    (item,) = newest["cartItems"]
    assert item["reused"] is True and item["creditsRefunded"] == item["creditsCharged"] == 2, item
    assert operator.credits(organization_id) == Decimal(96)


def _npm_axios(directory: Path) -> str | None:
    """Install axios for the Node example; None if it cannot be had (the Python example still ran)."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    try:
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", "axios@1"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "npm install axios timed out"
    if result.returncode != 0:
        return f"npm install axios failed: {result.stderr.strip()[:500]}"
    return None


@pytest.fixture(scope="module")
def node_dir():
    if shutil.which("node") is None:
        pytest.skip("node is not installed here: the Node example is skipped (the Python example ran)")
    directory = Path(tempfile.mkdtemp(prefix="garmax-e2e-node-"))
    (directory / "package.json").write_text('{"name": "garmax-e2e-node", "private": true}')
    problem = _npm_axios(directory)
    if problem:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(f"Node example skipped: {problem}")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_seed_node_example_runs_unchanged(stack, live_journey, garments, node_dir):
    journey = live_journey
    example = substitute(
        seed_code_block("### Node.js / Express", "javascript"),
        {
            "const API_KEY = 'gx_live_abc123...';": f"const API_KEY = {json.dumps(journey['partner'].key)};",
            "const BASE_URL = 'https://api.garmaxai.com/api';": f"const BASE_URL = {json.dumps(stack.api)};",
            "'enterprise/org-abc/photos/customer.jpg'": json.dumps(journey["photo"]["photoS3Key"]),
            "'https://shop.com/tshirt.jpg'": json.dumps(garments.garment_url("tshirt")),
        },
    )
    # The example uses require() and a top-level await, which only an ES module with a CommonJS require
    # allows; this prelude is ours, the example below it is the seed's.
    prelude = "import { createRequire } from 'module';\nconst require = createRequire(import.meta.url);\n"
    script = node_dir / "example.mjs"
    script.write_text(prelude + example)
    run = subprocess.run(
        ["node", str(script)], cwd=node_dir, capture_output=True, text=True, timeout=180, check=False
    )
    assert run.returncode == 0, f"seed Node example failed:\n{run.stdout}\n{run.stderr}"
    assert "Status: completed, Progress: 100%" in run.stdout, run.stdout
    urls = re.findall(r"resultUrl: '([^']+)'", run.stdout)
    assert urls, run.stdout
    for url in urls:
        assert_downloads_image(url)


def test_seed_node_signature_check_accepts_our_webhook(live_journey, receiver, node_dir):
    """Seed 001's verifyWebhookSignature(JSON.stringify(req.body)) on the body express would parse."""
    journey = live_journey
    delivery = receiver.received(journey["path"])[0]
    snippet = seed_code_block("### Signature Verification", "javascript")
    function = snippet.split("// Express middleware", 1)[0]
    check = (
        function
        + "\nconst body = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        + f"process.exit(verifyWebhookSignature(body, {json.dumps(delivery.headers['x-webhook-signature'])}, "
        + f"{json.dumps(journey['webhook']['secret'])}) ? 0 : 1);\n"
    )
    script = node_dir / "verify.cjs"
    script.write_text(check)
    run = subprocess.run(
        ["node", str(script)],
        input=delivery.body.decode(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, f"seed signature check rejected our webhook: {run.stderr}"


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_seed_php_example_runs_unchanged(stack, operator, live_journey, garments, tmp_path):
    """Seed 001's PHP client throws unless the create answers exactly 200; Debian's php-cli and php-curl
    run it as the seed prints it, with only the URL, key and the example's data replaced."""
    php = shutil.which("php")
    assert php, "php is not installed: apt-get install php-cli php-curl (.ci/run installs them when missing)"
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout.split()
    assert "curl" in modules, "PHP's curl extension is missing: apt-get install php-curl"
    organization_id, key = live_journey["organization"]["id"], live_journey["partner"].key
    before = operator.credits(organization_id)
    # The PHP example sends the very cart of the Python and Node examples (cartId cart_123, same photo and
    # item): a create repeating a session's cartId and content answers that session and charges nothing.
    listed = live_journey["partner"].get("/v1/cart-tryons", params={"cartId": "cart_123"})
    earlier = expect(listed, 200)["data"]
    code = substitute(
        seed_code_block("### PHP", "php"),
        {
            "$baseUrl = 'https://api.garmaxai.com/api'": f"$baseUrl = {_php_string(stack.api)}",
            "GarmaxAIClient('gx_live_abc123...')": f"GarmaxAIClient({_php_string(key)})",
            "'enterprise/org-abc/photos/customer.jpg'": _php_string(live_journey["photo"]["photoS3Key"]),
            "'https://shop.com/tshirt.jpg'": _php_string(garments.garment_url("tshirt")),
        },
    )
    script = tmp_path / "example.php"
    script.write_text(code)
    run = subprocess.run([php, str(script)], capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, f"seed PHP example failed:\n{run.stdout}\n{run.stderr}"
    session_id = re.search(r"^Session created: (cts_\S+)$", run.stdout, re.M)
    assert session_id, run.stdout
    assert "Progress: 100%" in run.stdout, run.stdout
    # print_r of the finished cart's items: the one item, rendered, with its signed result URL.
    assert re.search(r"\[status\] => completed", run.stdout), run.stdout
    urls = re.findall(r"\[resultUrl\] => (\S+)", run.stdout)
    assert len(urls) == 1, run.stdout
    assert_downloads_image(urls[0])
    if earlier:
        assert session_id.group(1) == earlier[0]["id"]
        assert operator.credits(organization_id) == before
    else:  # run alone: one hd item, 2 credits
        assert operator.credits(organization_id) == before - 2


def test_a_cart_with_samples_answers_every_image_in_the_format_asked(stack, live_journey, garments):
    """Render controls over the wire, on each broker: two samples of one item (two renders, two seeds) as
    WebP, and the other item as PNG by its own override; the images downloaded are what the items say."""
    partner = live_journey["partner"]
    before = _balance(partner)
    items = cart_items(garments, names=("tshirt", "jeans"))
    items[1] = {**items[1], "numSamples": 1, "outputFormat": "png"}
    session = partner.create_cart(
        live_journey["photo"]["photoS3Key"], items, quality="sd", numSamples=2, seed=41, outputFormat="webp"
    )
    assert session["pricing"]["itemRenders"] == 3 and _balance(partner) == before - 3
    finished = partner.wait_for_cart(session["id"], timeout=120)
    assert finished["status"] == "completed" and finished["progress"] == 100, finished
    top, jeans = finished["cartItems"]
    assert [r["seed"] for r in top["results"]] == [41, 42] and top["resultUrl"] == top["results"][0]["url"]
    assert [r["format"] for r in top["results"] + jeans["results"]] == ["webp", "webp", "png"]
    for result in top["results"] + jeans["results"]:
        image = assert_downloads_image(result["url"])
        assert image.format == result["format"].upper() and image.size == (result["width"], result["height"])


def test_a_cart_with_a_look_renders_the_outfit_and_charges_its_renders(stack, live_journey, garments):
    """One cart with a look of three garments on each broker: the items alone (3 renders) and the look (2 more
    renders: its first garment is the top item's own render), all at the sd price of 1 credit."""
    partner = live_journey["partner"]
    before = _balance(partner)
    session = partner.create_cart(
        live_journey["photo"]["photoS3Key"],
        cart_items(garments, names=("jacket", "tshirt", "jeans")),
        quality="sd",
        looks=[{"lookId": "layered", "items": ["prod_001", "prod_002", "prod_003"]}],
    )
    assert session["pricing"] == {"itemRenders": 3, "lookRenders": 2, "perRender": 1, "discount": 0}
    assert Decimal(str(session["creditsRequired"])) == 5 and _balance(partner) == before - 5
    (look,) = session["looks"]
    assert [item["productId"] for item in look["items"]] == ["prod_003", "prod_002", "prod_001"]  # inside out

    finished = partner.wait_for_cart(session["id"], timeout=120)
    assert finished["status"] == "completed" and finished["progress"] == 100, finished
    (look,) = finished["looks"]
    assert look["status"] == "completed" and look["error"] is None
    assert_downloads_image(look["resultUrl"])
    assert _balance(partner) == before - 5
