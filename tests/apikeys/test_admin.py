import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.urls import reverse

from api.errors import InvalidApiKey
from apikeys import services
from apikeys.models import ApiKey

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:apikeys_apikey_changelist"


def test_support_revokes_selected_keys_after_a_confirmation_page(
    client, support_staff, organization, api_key_for
):
    first, first_raw = api_key_for(organization, name="one")
    second, _ = api_key_for(organization, name="two")
    kept, kept_raw = api_key_for(organization, name="kept")
    services.apikey_authenticate(first_raw)  # cached: revocation must still bite on the next request
    client.force_login(support_staff)
    selection = {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}

    confirmation = client.post(reverse(CHANGELIST), selection)
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "Yes, revoke these keys" in page and first.key_prefix in page and second.key_prefix in page
    assert kept.key_prefix not in page
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()  # nothing happens on one click

    response = client.post(reverse(CHANGELIST), {**selection, "post": "yes"}, follow=True)
    assert "Revoked 2 key(s)." in response.content.decode()
    assert set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert ApiKey.objects.get(pk=first.pk).revoked_by == support_staff
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.apikey_authenticate(first_raw)
    assert services.apikey_authenticate(kept_raw).key_id == kept.pk


def test_revoking_in_admin_leaves_history_in_recent_actions(client, support_staff, organization, api_key_for):
    key, _ = api_key_for(organization, name="storefront")
    client.force_login(support_staff)
    client.post(
        reverse(CHANGELIST), {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk], "post": "yes"}
    )
    entry = LogEntry.objects.get(object_id=key.pk)
    assert entry.user == support_staff and entry.action_flag == CHANGE
    assert entry.get_change_message() == "Revoked the key."
    home = client.get(reverse("admin:index")).content.decode()
    assert "None available" not in home and str(key) in home
    history = client.get(reverse("admin:apikeys_apikey_history", args=[quote(key.pk)])).content.decode()
    assert "Revoked the key." in history


def test_already_revoked_keys_get_no_confirmation_page(client, support_staff, organization, api_key_for):
    key, _ = api_key_for(organization)
    services.apikey_revoke(key=key)
    client.force_login(support_staff)
    response = client.post(
        reverse(CHANGELIST), {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk]}, follow=True
    )
    assert "already revoked" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_key_pages_show_the_rate_limit_the_api_reports(
    client, support_staff, organization, api_key_for, jwt_client, owner
):
    default_key, _ = api_key_for(organization, name="default limit")
    custom_key, _ = api_key_for(organization, name="custom limit", rate_limit=250)
    listed = jwt_client(owner).get(f"/api/organizations/{organization.id}/api-keys").json()["data"]
    api_limits = {key["id"]: key["rateLimit"] for key in listed}
    assert api_limits == {default_key.pk: 60, custom_key.pk: 250}
    client.force_login(support_staff)
    detail = client.get(reverse("admin:apikeys_apikey_change", args=[quote(default_key.pk)])).content.decode()
    assert "60 (default)" in detail
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "60 (default)" in listing and ">250<" in listing


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
    detail = client.get(reverse("admin:apikeys_apikey_change", args=[quote(key.pk)])).content.decode()
    for page in (listing, detail):
        assert key.key_hash not in page and raw_key not in page
    revoked_listing = client.get(reverse(CHANGELIST) + "?status=revoked").content.decode()
    assert key.key_prefix not in revoked_listing


def test_support_rolls_keys_after_a_confirmation_and_sees_the_new_keys_once(
    client, support_staff, organization, api_key_for
):
    key, raw_key = api_key_for(organization, name="storefront", scopes=["tryon:read"])
    client.force_login(support_staff)
    selection = {"action": "roll_selected", ACTION_CHECKBOX_NAME: [key.pk]}
    confirmation = client.post(reverse(CHANGELIST), selection)
    assert "Yes, roll these keys" in confirmation.content.decode()
    assert ApiKey.objects.count() == 1  # nothing happens on one click

    page = client.post(reverse(CHANGELIST), {**selection, "post": "yes"}).content.decode()
    new = ApiKey.objects.exclude(pk=key.pk).get()
    assert new.name == "storefront" and new.scopes == ["tryon:read"]
    assert new.key_prefix in page and "shown only on this page" in page
    key.refresh_from_db()
    assert key.replaced_by == new and key.expires_at is not None
    assert services.apikey_authenticate(raw_key).key_id == key.pk  # still inside its grace period
    assert list(key.events.values_list("kind", "actor")) == [("rolled", support_staff.pk), ("created", None)]
    assert LogEntry.objects.filter(object_id=key.pk, action_flag=CHANGE).exists()


def test_key_events_are_readable_in_the_admin(client, support_staff, organization, api_key_for):
    key, _ = api_key_for(organization, name="storefront")
    services.apikey_update(key=key, data={"name": "shop"}, actor=support_staff)
    client.force_login(support_staff)
    page = client.get(reverse("admin:apikeys_apikey_change", args=[quote(key.pk)])).content.decode()
    assert "updated" in page and "storefront" in page
    listing = client.get(reverse("admin:apikeys_apikeyevent_changelist")).content.decode()
    assert key.key_prefix in listing and "updated" in listing
