import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, ApiUsageRecord
from config.errors import InvalidApiKey

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:apikeys_apikey_changelist"


def test_support_revokes_selected_keys_through_the_service(client, support_staff, organization, api_key_for):
    first, first_raw = api_key_for(organization, name="one")
    second, _ = api_key_for(organization, name="two")
    kept, kept_raw = api_key_for(organization, name="kept")
    services.apikey_authenticate(first_raw)  # cached: revocation must still bite on the next request
    client.force_login(support_staff)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 2 key(s)." in response.content.decode()
    assert set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert ApiKey.objects.get(pk=first.pk).revoked_by == support_staff
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(first_raw)
    assert services.apikey_authenticate(kept_raw).key_id == kept.pk


def test_staff_without_the_revoke_permission_cannot_revoke(client, billing_staff, organization, api_key_for):
    key, _ = api_key_for(organization)
    client.force_login(billing_staff)
    client.post(reverse(CHANGELIST), {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is None


def test_keys_list_and_detail_never_show_the_hash(client, support_staff, organization, api_key_for):
    key, raw_key = api_key_for(organization)
    client.force_login(support_staff)
    listing = client.get(reverse(CHANGELIST) + "?status=active").content.decode()
    assert key.key_prefix in listing
    detail = client.get(reverse("admin:apikeys_apikey_change", args=[key.pk])).content.decode()
    for page in (listing, detail):
        assert key.key_hash not in page and raw_key not in page
    revoked_listing = client.get(reverse(CHANGELIST) + "?status=revoked").content.decode()
    assert key.key_prefix not in revoked_listing


def test_usage_log_is_read_only_and_filterable(client, support_staff, organization, api_key_for):
    key, _ = api_key_for(organization)
    for status_code in (200, 404, 503):
        ApiUsageRecord.objects.create(
            api_key=key,
            method="GET",
            route=f"/api/v1/customers/s{status_code}",
            status_code=status_code,
            duration_ms=3,
            created_at=timezone.now(),
        )
    client.force_login(support_staff)
    url = reverse("admin:apikeys_apiusagerecord_changelist")
    page = client.get(url + "?status_class=4").content.decode()
    assert "/api/v1/customers/s404" in page and "/api/v1/customers/s200" not in page
    assert client.get(url + f"?api_key__organization__id__exact={organization.pk}").status_code == 200
    assert client.get(reverse("admin:apikeys_apiusagerecord_add")).status_code == 403
    record = ApiUsageRecord.objects.first()
    change = reverse("admin:apikeys_apiusagerecord_change", args=[record.pk])
    client.post(change, {"route": "/tampered"})
    record.refresh_from_db()
    assert record.route != "/tampered"
