"""Issue 27 item 10 from the attacker's side of the wire: a test key showed the sandbox's internal id
(`organizationId` of /usage, `org-<sandbox id>` in photoS3Key and its signed URL). Partners see their live
organization id only. HTTP against `gunicorn config.wsgi -w 4` (tests/live_service.py), default settings.
"""

import pytest
import requests

from organizations.models import Organization
from tests.factories import UserFactory, make_organization
from tests.images import person_jpeg
from tests.live_service import live_service, partner_headers, usage_flush_after_push  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_a_test_key_sees_only_the_live_organization_id_in_responses_keys_and_urls(
    live_service,  # noqa: F811
    transactional_db,
):
    organization = make_organization(owner=UserFactory(), name="Mode Shop")
    key = partner_headers(organization, name="sandbox", mode="test")
    sandbox_id = Organization.objects.get(sandbox_of=organization).id
    session = requests.Session()
    answers = []

    def call(method, path, **kwargs):
        response = session.request(method, live_service.url(path), headers=key, timeout=20, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text[:300])
        answers.append((path, response.text))
        return response.json()

    call("POST", "/api/v1/customers", json={"externalId": "shopper-1"})
    photo = call(
        "POST",
        "/api/v1/customers/shopper-1/photos",
        files={"photo": ("me.jpg", person_jpeg((400, 600)), "image/jpeg")},
    )
    # The regression: enterprise/org-<sandbox id>/photos/photo_….jpg
    assert photo["photoS3Key"].startswith(f"enterprise/org-{organization.id}/test/photos/"), photo[
        "photoS3Key"
    ]
    assert requests.get(photo["photoUrl"], timeout=10).status_code == 200  # the signed URL serves it
    call("GET", "/api/v1/customers/shopper-1")
    call("GET", "/api/v1/customers/shopper-1/photos")
    assert call("GET", "/api/v1/account")["organizationId"] == organization.id
    usage_flush_after_push()
    summary = call("GET", f"/api/organizations/{organization.id}/usage")
    # The regression: the sandbox's id.
    assert summary["organizationId"] == organization.id and summary["totals"]["requests"] >= 5
    call("GET", f"/api/organizations/{organization.id}/logs/requests")

    leaks = [path for path, text in answers if sandbox_id in text]
    assert leaks == [], f"the sandbox id {sandbox_id} reached a partner in {leaks}"
