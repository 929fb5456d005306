"""Key lifecycle: PATCH, roll and revoke take effect on the next request on every web process; the events."""

from datetime import timedelta
from unittest import mock

import bcrypt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.errors import Conflict
from apikeys import services
from apikeys.admission import ApiKeyPrincipal, verified_cache_key
from apikeys.models import ApiKey, ApiKeyEvent
from infrastructure.shared_cache import redis_client, shared_set_many

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.postgres]


def keys_url(organization, *rest):
    return "/".join([f"/api/organizations/{organization.id}/api-keys", *rest])


def partner(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def count_bcrypt_checks():
    return mock.patch("apikeys.admission.bcrypt.checkpw", side_effect=bcrypt.checkpw)


@pytest.fixture
def owner_client(owner, jwt_client):
    return jwt_client(owner)


def test_patched_scopes_apply_on_the_next_request_without_another_bcrypt(
    organization, api_key_for, owner_client
):
    key, raw_key = api_key_for(organization, scopes=["customers:read", "customers:create"])
    client = partner(raw_key)
    assert client.get("/api/v1/customers").status_code == 200  # verified and cached
    response = owner_client.patch(keys_url(organization, key.id), {"scopes": ["tryon:read"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["scopes"] == ["tryon:read"]
    with count_bcrypt_checks() as checkpw:
        refused = client.get("/api/v1/customers")
        assert refused.status_code == 403 and refused.json()["error"] == "InvalidScope"
        assert client.get("/api/v1/tryons").status_code == 200
    assert checkpw.call_count == 0  # the stale entry is refreshed from the row, not re-verified


def test_patched_rate_limit_applies_on_the_next_request(organization, api_key_for, owner_client):
    key, raw_key = api_key_for(organization, rate_limit=100)
    client = partner(raw_key)
    assert client.get("/api/v1/customers")["X-RateLimit-Limit"] == "100"
    owner_client.patch(keys_url(organization, key.id), {"rateLimit": 2}, format="json")
    response = client.get("/api/v1/customers")
    assert response["X-RateLimit-Limit"] == "2"
    client.get("/api/v1/customers")
    assert client.get("/api/v1/customers").status_code == 429
    # null restores the default
    assert (
        owner_client.patch(keys_url(organization, key.id), {"rateLimit": None}, format="json").json()[
            "rateLimit"
        ]
        == 60
    )


def test_a_verification_cached_before_the_change_is_not_served_on_any_process(organization, api_key_for):
    key, raw_key = api_key_for(organization, scopes=["all"])
    before, _ = services.apikey_admit(raw_key)
    services.apikey_update(key=key, data={"scopes": ["tryon:read"]})
    # A verification that read the row before the change and wrote its entry after it (another web
    # process, slow): the version marker makes every process refresh it.
    shared_set_many({verified_cache_key(raw_key): before.as_cache_entry()}, timeout=300)
    principal, _ = services.apikey_admit(raw_key)
    assert principal.scopes == ("tryon:read",) and principal.version == before.version + 1
    assert principal.version == ApiKey.objects.get(pk=key.pk).version


def test_patching_expiry_into_the_past_is_refused_and_expiry_now_refuses_the_key(
    organization, api_key_for, owner_client
):
    key, raw_key = api_key_for(organization)
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = owner_client.patch(keys_url(organization, key.id), {"expiresAt": past}, format="json")
    assert response.status_code == 400 and "expiresAt" in response.json()["details"]
    assert partner(raw_key).get("/api/v1/customers").status_code == 200
    soon = timezone.now() + timedelta(seconds=2)
    services.apikey_update(key=key, data={"expiresAt": soon})
    with mock.patch("apikeys.admission.time.time", return_value=soon.timestamp() + 1):
        # the Redis clock decides in the hot path; the refreshed entry carries the new expiry
        principal, _ = services.apikey_admit(raw_key)
    assert principal.expires_at == pytest.approx(soon.timestamp(), abs=0.01)


def test_bad_patches_change_nothing(organization, api_key_for, owner_client):
    key, _ = api_key_for(organization, scopes=["all"])
    url = keys_url(organization, key.id)
    for body, field in [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["root"]}, "scopes"),
        ({"rateLimit": 0}, "rateLimit"),
        ({"endpointLimits": {"customers:explode": 3}}, "endpointLimits.customers:explode"),
        ({"endpointLimits": {"customers:create": 0}}, "endpointLimits"),
    ]:
        response = owner_client.patch(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"] == "ValidationError"
        assert any(name.startswith(field.split(".")[0]) for name in response.json()["details"]), body
    key.refresh_from_db()
    assert key.scopes == ["all"] and key.version == 1 and key.endpoint_limits == {}
    assert list(key.events.values_list("kind", flat=True)) == ["created"]


def test_a_revoked_key_cannot_be_patched_or_rolled(organization, api_key_for, owner_client):
    key, _ = api_key_for(organization)
    services.apikey_revoke(key=key)
    patch = owner_client.patch(keys_url(organization, key.id), {"name": "again"}, format="json")
    assert patch.status_code == 409 and patch.json()["error"] == "Conflict"
    roll = owner_client.post(keys_url(organization, key.id, "roll"), {}, format="json")
    assert roll.status_code == 409


def test_members_cannot_patch_and_strangers_get_404(
    organization, other_organization, api_key_for, member_of, jwt_client, stranger, owner_client
):
    key, _ = api_key_for(organization)
    member = jwt_client(member_of(organization))
    assert member.patch(keys_url(organization, key.id), {"name": "x"}, format="json").status_code == 403
    assert member.get(keys_url(organization, key.id, "events")).status_code == 200
    for client in (jwt_client(stranger),):
        for method, suffix in [("patch", ""), ("post", "/roll"), ("get", "/events")]:
            response = getattr(client, method)(keys_url(organization, key.id) + suffix, {}, format="json")
            assert response.status_code == 404, (method, suffix)
    # Another organization's key under our organization's URL is a 404 too.
    foreign, _ = api_key_for(other_organization)
    owner = owner_client
    assert owner.patch(keys_url(organization, foreign.id), {"name": "x"}, format="json").status_code == 404
    assert owner.post(keys_url(organization, foreign.id, "roll"), {}, format="json").status_code == 404
    assert owner.get(keys_url(organization, foreign.id, "events")).status_code == 404


def test_roll_answers_a_new_key_and_the_old_one_works_until_its_grace_ends(
    organization, api_key_for, owner_client
):
    key, raw_key = api_key_for(organization, scopes=["customers:read"], rate_limit=30)
    old_client = partner(raw_key)
    assert old_client.get("/api/v1/customers").status_code == 200
    response = owner_client.post(keys_url(organization, key.id, "roll"), {"expiresIn": 3600}, format="json")
    assert response.status_code == 201, response.json()
    new = response.json()
    assert new["key"].startswith("gx_live_") and new["id"] != key.id
    assert (new["name"], new["scopes"], new["rateLimit"]) == (key.name, ["customers:read"], 30)
    assert partner(new["key"]).get("/api/v1/customers").status_code == 200
    assert old_client.get("/api/v1/customers").status_code == 200  # still in its grace period
    listed = {k["id"]: k for k in owner_client.get(keys_url(organization)).json()["data"]}
    assert listed[key.id]["status"] == "active" and listed[key.id]["replacedBy"] == new["id"]
    assert listed[key.id]["expiresAt"] is not None and listed[new["id"]]["expiresAt"] is None
    # A key is rolled once.
    again = owner_client.post(keys_url(organization, key.id, "roll"), {}, format="json")
    assert again.status_code == 409 and again.json()["details"]["replacedBy"] == new["id"]


def test_roll_with_expires_in_zero_refuses_the_old_key_on_the_next_request(
    organization, api_key_for, owner_client
):
    key, raw_key = api_key_for(organization)
    old_client = partner(raw_key)
    assert old_client.get("/api/v1/customers").status_code == 200
    new = owner_client.post(keys_url(organization, key.id, "roll"), {"expiresIn": 0}, format="json").json()
    refused = old_client.get("/api/v1/customers")
    assert refused.status_code == 401 and refused.json()["message"] == "API key has expired."
    assert partner(new["key"]).get("/api/v1/customers").status_code == 200
    listed = {k["id"]: k["status"] for k in owner_client.get(keys_url(organization)).json()["data"]}
    assert listed == {key.id: "expired", new["id"]: "active"}


def test_a_rolled_keys_grace_can_only_be_brought_forward(organization, api_key_for):
    key, _ = api_key_for(organization)
    new, _ = services.apikey_roll(key=key, expires_in=600)
    key.refresh_from_db()
    grace_end = key.expires_at
    for refused in (None, grace_end + timedelta(seconds=1), grace_end + timedelta(days=7)):
        with pytest.raises(Conflict) as caught:
            services.apikey_update(key=key, data={"name": "renamed", "expiresAt": refused})
        assert caught.value.details["replacedBy"] == new.id
    key.refresh_from_db()
    assert (key.expires_at, key.name) == (grace_end, "Test key")  # nothing of a refused PATCH applied
    assert not key.events.filter(kind=ApiKeyEvent.Kind.UPDATED).exists()

    services.apikey_update(key=key, data={"expiresAt": grace_end})  # the same end: nothing to change
    sooner = grace_end - timedelta(minutes=5)
    services.apikey_update(key=key, data={"expiresAt": sooner})
    key.refresh_from_db()
    assert key.expires_at == sooner
    (updated,) = key.events.filter(kind=ApiKeyEvent.Kind.UPDATED)
    assert updated.changes == {
        "expiresAt": {"from": services._json_value(grace_end), "to": services._json_value(sooner)}
    }


def test_the_replacement_and_keys_never_rolled_may_still_drop_their_expiry(organization, api_key_for):
    key, _ = api_key_for(organization, expires_at=timezone.now() + timedelta(days=1))
    assert services.apikey_update(key=key, data={"expiresAt": None}).expires_at is None
    new, _ = services.apikey_roll(key=key, expires_in=60)
    assert services.apikey_update(key=new, data={"expiresAt": timezone.now() + timedelta(days=30)}).expires_at
    assert services.apikey_update(key=new, data={"expiresAt": None}).expires_at is None


def test_roll_validates_expires_in(organization, api_key_for, owner_client):
    key, _ = api_key_for(organization)
    for value in (-1, 7 * 86400 + 1, "soon"):
        response = owner_client.post(
            keys_url(organization, key.id, "roll"), {"expiresIn": value}, format="json"
        )
        assert response.status_code == 400 and "expiresIn" in response.json()["details"]
    assert ApiKey.objects.filter(organization=organization).count() == 1


def test_a_rolled_test_key_stays_a_test_key_with_its_limits(organization, api_key_for):
    key, _ = api_key_for(organization, mode="test", endpoint_limits={"customers:create": 5})
    new, raw_key = services.apikey_roll(key=key, expires_in=60)
    assert raw_key.startswith("gx_test_") and new.mode == "test"
    assert new.endpoint_limits == {"customers:create": 5}


def test_events_record_who_did_what(organization, owner, api_key_for, owner_client, support_staff):
    response = owner_client.post(keys_url(organization), {"name": "Shop", "scopes": ["all"]}, format="json")
    key_id = response.json()["id"]
    owner_client.patch(
        keys_url(organization, key_id), {"name": "Shop server", "rateLimit": 10}, format="json"
    )
    rolled = owner_client.post(
        keys_url(organization, key_id, "roll"), {"expiresIn": 60}, format="json"
    ).json()
    key = ApiKey.objects.get(pk=key_id)
    services.apikey_revoke(key=key, actor=support_staff)
    services.apikey_revoke(key=key, actor=support_staff)  # a repeat records nothing
    events = owner_client.get(keys_url(organization, key_id, "events")).json()
    assert [e["type"] for e in events["data"]] == ["revoked", "rolled", "updated", "created"]
    revoked, rolled_event, updated, created = events["data"]
    assert revoked["actor"] == "GarmaxAI staff"  # never a staff username
    assert updated["actor"] == owner.username
    assert updated["changes"] == {
        "name": {"from": "Shop", "to": "Shop server"},
        "rateLimit": {"from": None, "to": 10},
    }
    assert rolled_event["changes"]["replacedBy"] == rolled["id"]
    assert created["changes"]["mode"] == "live"
    new_events = owner_client.get(keys_url(organization, rolled["id"], "events")).json()["data"]
    assert new_events[0]["type"] == "created" and new_events[0]["changes"]["rolledFrom"] == key_id


def test_expiries_are_recorded_once(organization, api_key_for):
    key, _ = api_key_for(organization, expires_at=timezone.now() + timedelta(seconds=5))
    live, _ = api_key_for(organization)
    later = timezone.now() + timedelta(seconds=10)
    assert services.apikey_expired_record(now=later) == 1
    assert services.apikey_expired_record(now=later) == 0
    assert list(key.events.values_list("kind", flat=True)) == ["expired", "created"]
    assert not live.events.filter(kind=ApiKeyEvent.Kind.EXPIRED).exists()


def test_a_change_fails_whole_when_redis_is_down(organization, api_key_for):
    from redis.exceptions import ConnectionError

    key, _ = api_key_for(organization)
    client = redis_client()
    with mock.patch.object(client, "pipeline", side_effect=ConnectionError("down")):
        response = None
        with pytest.raises(Exception) as raised:
            services.apikey_update(key=key, data={"name": "new"})
        response = raised.value
    assert getattr(response, "status_code", None) == 503
    key.refresh_from_db()
    assert key.name == "Test key" and key.version == 1 and key.events.count() == 1


def test_principal_entry_round_trips_mode_version_and_limits():
    principal = ApiKeyPrincipal(
        key_id="key_1",
        key_prefix="gx_test_abcdefgh",
        organization_id="org_2",
        scopes=("all",),
        rate_limit=60,
        expires_at=None,
        version=4,
        mode="test",
        endpoint_limits=(("cart-tryons:create", 10), ("customers:create", 3)),
    )
    assert ApiKeyPrincipal.from_cache_entry(principal.as_cache_entry()) == principal


def test_every_web_process_sees_the_change_on_its_next_request(
    organization, api_key_for, second_redis_client
):
    key, raw_key = api_key_for(organization, scopes=["all"], rate_limit=50)
    mine, _ = services.apikey_admit(raw_key)
    with mock.patch("apikeys.admission.redis_hot_client", return_value=second_redis_client):
        theirs, _ = services.apikey_admit(raw_key)  # another process, its own connection, same entry
    assert mine == theirs
    services.apikey_update(key=key, data={"scopes": ["tryon:read"], "rateLimit": 5})
    with mock.patch("apikeys.admission.redis_hot_client", return_value=second_redis_client):
        theirs, decision = services.apikey_admit(raw_key)
    mine, _ = services.apikey_admit(raw_key)
    for principal in (mine, theirs):
        assert principal.scopes == ("tryon:read",) and principal.rate_limit == 5
    assert decision.limit == 5


def test_changes_apply_in_embedded_mode_too(organization, api_key_for, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    key, raw_key = api_key_for(organization, scopes=["all"])
    assert services.apikey_authenticate(raw_key).scopes == ("all",)
    services.apikey_update(key=key, data={"scopes": ["customers:read"]})
    assert services.apikey_authenticate(raw_key).scopes == ("customers:read",)
