import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from usage.models import RequestLogEntry

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:usage_requestlogentry_changelist"


def test_the_request_log_is_read_only_and_filterable(client, support_staff, organization, api_key_for, store):
    key, _ = api_key_for(organization)
    for status_code in (200, 404, 503):
        store(
            key,
            at=timezone.now(),
            route=f"/api/v1/customers/s{status_code}",
            status_code=status_code,
            request_id=f"req_{status_code}",
        )
    client.force_login(support_staff)
    url = reverse(CHANGELIST)
    page = client.get(url + "?status_class=4").content.decode()
    assert "/api/v1/customers/s404" in page and "/api/v1/customers/s200" not in page
    found = client.get(url + "?q=req_503").content.decode()
    assert "/api/v1/customers/s503" in found and "/api/v1/customers/s404" not in found
    assert client.get(reverse("admin:usage_requestlogentry_add")).status_code == 403
    entry = RequestLogEntry.objects.first()
    change = reverse("admin:usage_requestlogentry_change", args=[quote(entry.pk)])
    client.post(change, {"route": "/tampered"})
    entry.refresh_from_db()
    assert entry.route != "/tampered"


def test_a_request_id_is_found_with_its_organization_as_the_console_search_says(
    client, support_staff, organization, other_organization, api_key_for, store
):
    ours, _ = api_key_for(organization)
    theirs, _ = api_key_for(other_organization)
    store(ours, at=timezone.now(), route="/api/v1/customers/ours", status_code=404, request_id="req_abc")
    store(theirs, at=timezone.now(), route="/api/v1/customers/theirs", status_code=404, request_id="req_abc")
    client.force_login(support_staff)

    found = client.get(reverse(CHANGELIST), {"q": f"{organization.id} req_abc"}).content.decode()

    assert "/api/v1/customers/ours" in found and "/api/v1/customers/theirs" not in found
    console = client.post(reverse("console:search"), {"q": "req_abc"}, follow=True).content.decode()
    assert "Request log" in console and "organization id" in console
