import base64
import io
import json
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import urlsplit

import boto3
import pytest
from django.test import Client
from moto import mock_aws
from PIL import Image
from rest_framework.test import APIClient

from infrastructure.storage import storage_exists
from tests.http_servers import LocalServer, QuietHandler, SlowServer, timed
from tests.images import garment_png, person_jpeg
from tryons import services
from tryons.models import TryOn
from tryons.qualities import QUALITIES
from tryons.renderers import (
    PermanentRenderError,
    RenderAccepted,
    RenderRequest,
    RetryableRenderError,
    get_renderer,
)
from tryons.renderers.eventbridge import RENDER_REQUESTED, SOURCE
from tryons.renderers.http import HttpRenderer
from tryons.signing import HEADER, callback_signature
from webhooks.models import WebhookEvent

CALLBACK_URL = "/api/internal/tryon-render-callbacks"


def render_request(quality="hd", category="tops", **extra) -> RenderRequest:
    values = {
        "tryon_id": "tryon_test",
        "organization_id": "org_test",
        "category": category,
        "quality": quality,
        "background_scene": "studio",
        "person_image": person_jpeg(),
        "person_photo_key": "enterprise/org-org_test/photos/photo_x.jpg",
        "garment_image": garment_png(),
        "garment_url": "https://shop.example.com/tshirt.png",
        "job_id": "tryon_test.1",
    }
    return RenderRequest(**{**values, **extra})


# --- local -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", ["sd", "hd", "4k"])
def test_local_renderer_produces_an_image_at_the_quality_size(quality):
    result = get_renderer("local").render(render_request(quality=quality))
    image = Image.open(io.BytesIO(result.image))
    assert (image.format, image.size) == ("JPEG", QUALITIES[quality].size)
    assert result.content_type == "image/jpeg"


@pytest.mark.parametrize(("category", "inside", "outside"), [("tops", 0.35, 0.8), ("bottoms", 0.75, 0.3)])
def test_local_renderer_places_the_garment_by_category(category, inside, outside):
    result = get_renderer("local").render(render_request(quality="sd", category=category))
    image = Image.open(io.BytesIO(result.image)).convert("RGB")
    width, height = image.size

    def reddish(y_fraction):
        row = [image.getpixel((x, int(y_fraction * height))) for x in range(width)]
        return sum(1 for r, g, b in row if r > 150 and g < 90 and b < 90)

    assert reddish(inside) > width * 0.2
    assert reddish(outside) == 0


def test_local_renderer_marks_the_result_as_a_preview():
    result = get_renderer("local").render(render_request(quality="sd"))
    image = Image.open(io.BytesIO(result.image)).convert("L")
    width, height = image.size
    banner = [image.getpixel((x, height - 5)) for x in range(width)]
    assert max(banner) < 110  # the dark preview banner along the bottom edge


def test_local_renderer_rejects_undecodable_garment():
    with pytest.raises(PermanentRenderError):
        get_renderer("local").render(render_request(garment_image=b"not an image"))


# --- http --------------------------------------------------------------------------------------------


class InferenceServer:
    """A real local inference service following the documented contract; answers are scripted."""

    def __init__(self):
        self.requests = []
        self.answers = []  # (status, content type, body) popped per request
        server = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
                )
                fields = {
                    part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                    for part in message.iter_parts()
                }
                server.requests.append({"headers": dict(self.headers), "fields": fields})
                status, kind, payload = server.answers.pop(0)
                self.reply(status, payload, {"Content-Type": kind})

        self.server = LocalServer(Handler)
        self.url = self.server.url("/v1/tryon")

    def close(self):
        self.server.stop()


@pytest.fixture
def inference():
    server = InferenceServer()
    yield server
    server.close()


def test_http_renderer_follows_the_documented_contract(inference):
    rendered = get_renderer("local").render(render_request(quality="sd")).image
    inference.answers.append((200, "image/jpeg", rendered))
    renderer = HttpRenderer(url=inference.url, auth_header="X-Inference-Token: s3cret", timeout=5)

    result = renderer.render(render_request(quality="4k", category="dresses"))

    assert (result.image, result.content_type) == (rendered, "image/jpeg")
    [sent] = inference.requests
    assert sent["headers"]["X-Inference-Token"] == "s3cret"
    assert sent["headers"]["X-Tryon-Id"] == "tryon_test"
    fields = sent["fields"]
    assert fields["category"] == b"dresses"
    assert (fields["quality"], fields["width"], fields["height"]) == (b"4k", b"1536", b"2048")
    assert fields["person"] == person_jpeg()
    assert fields["garment"] == garment_png()


def test_http_renderer_bare_auth_value_is_an_authorization_header(inference):
    inference.answers.append((200, "image/png", garment_png()))
    HttpRenderer(url=inference.url, auth_header="Bearer abc", timeout=5).render(render_request())
    assert inference.requests[0]["headers"]["Authorization"] == "Bearer abc"


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (503, "application/json", RetryableRenderError),
        (429, "application/json", RetryableRenderError),
        (422, "application/json", PermanentRenderError),
        (200, "text/html", PermanentRenderError),
    ],
)
def test_http_renderer_classifies_errors(inference, status, kind, error):
    inference.answers.append((status, kind, b'{"error": "no person detected"}'))
    with pytest.raises(error):
        HttpRenderer(url=inference.url, timeout=5).render(render_request())


def test_http_renderer_unreachable_is_retryable():
    with pytest.raises(RetryableRenderError):
        HttpRenderer(url="http://127.0.0.1:9/none", timeout=2).render(render_request())


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_http_renderer_dripping_its_answer_is_cut_off_at_the_timeout(mode):
    slow = SlowServer(mode, trickle_bytes=12)
    try:
        renderer = HttpRenderer(url=slow.url("/render"), timeout=2)
        elapsed, outcome = timed(lambda: renderer.render(render_request()))
    finally:
        slow.close()

    assert isinstance(outcome, RetryableRenderError)
    assert str(outcome) == "Renderer: Request took longer than 2 s."
    assert elapsed < 2 + 1.5


def test_http_backend_runs_through_the_pipeline_with_a_retry(
    make_tryon, garment_server, inference, settings, allow_private
):
    settings.TRYON_RENDERER = "http"
    settings.TRYON_HTTP_RENDERER_URL = inference.url
    inference.answers += [(503, "application/json", b"{}"), (200, "image/png", garment_png())]
    tryon = make_tryon(garment_server.url("/garment.png"))

    services.tryon_process(tryon_id=tryon.id)

    tryon.refresh_from_db()
    assert (tryon.status, tryon.attempts, tryon.renderer) == ("completed", 2, "http")
    assert tryon.result_key.endswith(".png")


# --- eventbridge -------------------------------------------------------------------------------------

BUS = "garmax-renders"
SECRET = "callback-secret-for-tests-0123456789"


@pytest.fixture
def aws(monkeypatch, settings):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    settings.TRYON_RENDERER = "eventbridge"
    settings.EVENTBRIDGE_BUS_NAME = BUS
    settings.EVENTBRIDGE_ENDPOINT_URL = None
    settings.AWS_REGION = "us-east-1"
    settings.TRYON_CALLBACK_SECRET = SECRET
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="renders")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="renders", EventBusName=BUS, EventPattern=json.dumps({"detail-type": [RENDER_REQUESTED]})
        )
        events.put_targets(Rule="renders", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])

        def received():
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"]) for m in messages]

        yield received


def post_callback(payload: dict, secret=SECRET, timestamp=None):
    body = json.dumps(payload).encode()
    return APIClient().post(
        CALLBACK_URL,
        data=body,
        content_type="application/json",
        headers={HEADER: callback_signature(secret=secret, body=body, timestamp=timestamp)},
    )


def test_eventbridge_renderer_publishes_one_event(aws):
    outcome = get_renderer().render(render_request())

    assert outcome == RenderAccepted(job_id="tryon_test.1")
    [event] = aws()
    assert (event["source"], event["detail-type"]) == (SOURCE, RENDER_REQUESTED)
    detail = event["detail"]
    assert (detail["tryonId"], detail["jobId"], detail["quality"]) == ("tryon_test", "tryon_test.1", "hd")
    assert detail["callbackUrl"].endswith(CALLBACK_URL)
    assert "signature=" in detail["personImageUrl"]


def signed_get(url: str) -> bytes:
    parts = urlsplit(url)
    response = Client().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_eventbridge_event_points_to_a_signed_url_of_our_garment_copy_not_the_partners_url(aws):
    request = render_request()

    get_renderer().render(request)

    [event] = aws()
    garment_url = event["detail"]["garmentImageUrl"]
    assert "shop.example.com" not in garment_url
    assert "/garments/tryon_test.png?" in garment_url and "signature=" in garment_url
    assert signed_get(garment_url) == request.garment_image


def test_eventbridge_failed_entry_is_retryable(aws, settings):
    settings.EVENTBRIDGE_BUS_NAME = "no-such-bus"
    with pytest.raises(RetryableRenderError):
        get_renderer().render(render_request())


@pytest.fixture
def cart_via_eventbridge(make_cart_session, garment_server, aws, allow_private):
    session = make_cart_session([garment_server.url("/garment.png")] * 2, cart_id="cart-eb")
    services.cart_session_process(session_id=session.id)
    return session


def test_eventbridge_results_come_back_through_the_signed_callback(organization, cart_via_eventbridge, aws):
    session = cart_via_eventbridge
    published = aws()
    assert len(published) == 2
    session.refresh_from_db()
    assert session.status == "processing"
    assert all(item.awaiting_callback for item in session.items.all())

    first, second = (event["detail"] for event in published)
    assert signed_get(first["garmentImageUrl"]) == garment_png()  # our copy, not the shop's URL
    image = get_renderer("local").render(render_request(quality="sd")).image
    done = {
        "tryonId": first["tryonId"],
        "jobId": first["jobId"],
        "status": "completed",
        "image": base64.b64encode(image).decode(),
    }
    response = post_callback(done)
    assert response.status_code == 200, response.json()
    assert response.json() == {"received": True, "applied": True}
    assert post_callback(done).json()["applied"] is False  # duplicate delivery changes nothing

    failed = {
        "tryonId": second["tryonId"],
        "jobId": second["jobId"],
        "status": "failed",
        "error": "no person",
    }
    assert post_callback(failed).json()["applied"] is True

    session.refresh_from_db()
    assert (session.status, session.progress) == ("partial", 100)
    assert TryOn.objects.get(pk=first["tryonId"]).result_key
    assert TryOn.objects.get(pk=second["tryonId"]).error == "no person"
    assert [e.event for e in WebhookEvent.objects.all()] == ["cart_tryon.partial"]
    organization.refresh_from_db()
    assert organization.credits == 99  # two sd items charged, the failed one refunded
    # Settled items no longer need their garment copies.
    for detail in (first, second):
        key = f"enterprise/org-{organization.id}/garments/{detail['tryonId']}.png"
        assert not storage_exists(key)


@pytest.mark.parametrize(
    ("secret", "age"),
    [("wrong-secret", 0), (SECRET, 3600)],
)
def test_callback_with_bad_or_stale_signature_is_refused(cart_via_eventbridge, aws, secret, age):
    import time

    [first, _] = (event["detail"] for event in aws())
    payload = {"tryonId": first["tryonId"], "jobId": first["jobId"], "status": "failed", "error": "x"}
    response = post_callback(payload, secret=secret, timestamp=int(time.time()) - age)
    assert response.status_code == 401
    assert TryOn.objects.get(pk=first["tryonId"]).status == "processing"


def test_callback_without_signature_is_refused(db, settings):
    settings.TRYON_RENDERER = "eventbridge"
    settings.EVENTBRIDGE_BUS_NAME = BUS
    settings.TRYON_CALLBACK_SECRET = SECRET
    response = APIClient().post(CALLBACK_URL, {"tryonId": "x"}, format="json")
    assert response.status_code == 401


def test_callback_for_an_old_job_is_ignored(cart_via_eventbridge, aws):
    [first, _] = (event["detail"] for event in aws())
    stale = {
        "tryonId": first["tryonId"],
        "jobId": first["tryonId"] + ".0",
        "status": "failed",
        "error": "old",
    }
    assert post_callback(stale).json()["applied"] is False
    assert TryOn.objects.get(pk=first["tryonId"]).status == "processing"
