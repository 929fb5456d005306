"""Conditional polls of cart sessions and try-ons: ETag, 304 from the Redis stamp, the cached answer."""

import time

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tryons.models import CartTryOnSession, TryOn
from tryons.services import cancellation

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session(make_cart_session):
    return make_cart_session(["https://shop.example/a.jpg", "https://shop.example/b.jpg"])


@pytest.fixture
def key(organization, api_key_for):
    return api_key_for(organization, ("tryon:read", "tryon:create"), rate_limit=1000)[1]


def client_for(raw_key, **headers):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key, **headers)
    return client


def poll(client, session_id, etag=None, **headers):
    if etag is not None:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(f"/api/v1/cart-tryons/{session_id}", **headers)


def test_unchanged_session_is_304_without_a_query_and_outside_the_rate_limit(
    session, key, django_assert_num_queries
):
    client = client_for(key)
    first = poll(client, session.id)
    assert first.status_code == 200 and first["ETag"].startswith('W/"')
    remaining = int(first["X-RateLimit-Remaining"])
    with django_assert_num_queries(0):
        again = poll(client, session.id, first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert "X-RateLimit-Remaining" not in again
    assert int(again["X-RateLimit-Conditional-Limit"]) == 10_000
    assert int(again["X-RateLimit-Conditional-Remaining"]) < 10_000
    # Not counted: the key's next ordinary request finds its minute bucket where the first left it.
    assert int(poll(client, session.id)["X-RateLimit-Remaining"]) == remaining - 1


def test_without_if_none_match_the_answer_is_as_before(session, key):
    answer = poll(client_for(key), session.id)
    assert answer.status_code == 200
    assert answer.json()["id"] == session.id and len(answer.json()["cartItems"]) == 2
    assert "X-RateLimit-Remaining" in answer


@pytest.mark.parametrize(
    "change",
    [
        "render_progress",
        "item_completed",
        "refund",
        "cancel",
    ],
)
def test_every_change_of_the_session_changes_its_etag(session, key, change):
    client = client_for(key)
    before = poll(client, session.id)
    item = TryOn.objects.filter(session=session).order_by("position").first()
    if change == "render_progress":
        TryOn.objects.filter(pk=item.pk).update(status=TryOn.Status.PROCESSING)
        CartTryOnSession.objects.filter(pk=session.pk).update(status="processing", progress=50)
    elif change == "item_completed":
        with transaction.atomic():
            TryOn.objects.filter(pk=item.pk).update(status=TryOn.Status.COMPLETED, result_key="r/x.jpg")
    elif change == "refund":
        with transaction.atomic():
            TryOn.objects.filter(pk=item.pk).update(credits_refunded=item.credits)
    else:
        cancellation.cart_session_cancel(organization_id=session.organization_id, session_id=session.id)
    after = poll(client, session.id, before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert poll(client, session.id, after["ETag"]).status_code == 304


def test_bookkeeping_columns_do_not_change_the_etag(session, key):
    client = client_for(key)
    before = poll(client, session.id)
    TryOn.objects.filter(session=session).update(heartbeat_at="2030-01-01T00:00:00Z", attempts=3)
    assert poll(client, session.id, before["ETag"]).status_code == 304


def test_a_changed_poll_is_served_from_the_answer_built_once(session, key, django_assert_num_queries):
    client = client_for(key)
    old = poll(client, session.id)
    CartTryOnSession.objects.filter(pk=session.pk).update(progress=40)
    rebuilt = poll(client, session.id, old["ETag"])
    assert rebuilt.status_code == 200 and rebuilt.json()["progress"] == 40
    with django_assert_num_queries(0):
        cached = poll(client, session.id, old["ETag"])
    assert cached.status_code == 200 and cached.content == rebuilt.content
    assert cached["ETag"] == rebuilt["ETag"]


def test_another_organizations_etag_never_answers_304(session, key, other_organization, api_key_for):
    etag = poll(client_for(key), session.id)["ETag"]
    stranger = client_for(api_key_for(other_organization, ("tryon:read",))[1])
    answer = poll(stranger, session.id, etag)
    assert answer.status_code == 404 and answer.json()["error"] == "ResourceNotFound"
    assert poll(stranger, session.id, "*").status_code == 404


def test_a_deleted_session_is_a_404_for_its_old_etag(session, key):
    client = client_for(key)
    etag = poll(client, session.id)["ETag"]
    CartTryOnSession.objects.filter(pk=session.pk).delete()
    assert poll(client, session.id, etag).status_code == 404


def test_weak_and_strong_forms_lists_and_star(session, key):
    client = client_for(key)
    etag = poll(client, session.id)["ETag"]
    strong = etag.removeprefix("W/")
    assert poll(client, session.id, strong).status_code == 304
    assert poll(client, session.id, f'"nope", {etag}').status_code == 304
    assert poll(client, session.id, "*").status_code == 304
    assert poll(client, session.id, 'W/"nope-1-20260101"').status_code == 200
    assert poll(client, session.id, "garbage").status_code == 200


def test_a_copy_whose_urls_near_expiry_is_answered_200_with_fresh_links(session, key, settings, monkeypatch):
    client = client_for(key)
    CartTryOnSession.objects.filter(pk=session.pk).update(status="processing")
    TryOn.objects.filter(session=session, position=0).update(status="completed", result_key="r/a.jpg")
    first = poll(client, session.id)
    url = first.json()["cartItems"][0]["resultUrl"]
    assert url and "expires=" in url
    # Half the TTL later the client's copy and the cached answer are both too close to expiry.
    later = time.time() + settings.SIGNED_URL_TTL_SECONDS // 2 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    again = poll(client, session.id, first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    fresh = again.json()["cartItems"][0]["resultUrl"]
    assert fresh != url and int(fresh.split("expires=")[1].split("&")[0]) >= later + 3000
    assert poll(client, session.id, again["ETag"]).status_code == 304


def test_the_304_ceiling_then_the_keys_own_limit(session, organization, api_key_for):
    client = client_for(api_key_for(organization, ("tryon:read",), rate_limit=1)[1])
    etag = poll(client, session.id)["ETag"]  # the key's one request of this minute
    free = [poll(client, session.id, etag) for _ in range(10)]
    assert {r.status_code for r in free} == {304}
    assert free[-1]["X-RateLimit-Conditional-Remaining"] == "0"
    # The ceiling used up: a conditional GET counts against the key's limit like any request.
    refused = poll(client, session.id, etag)
    assert refused.status_code == 429


def test_the_version_is_part_of_the_etag(session, key):
    client = client_for(key)
    newest = poll(client, session.id, HTTP_GARMAX_VERSION="2026-11-01")
    older = poll(client, session.id, HTTP_GARMAX_VERSION="2026-01-15")
    assert newest["ETag"] != older["ETag"]
    assert poll(client, session.id, newest["ETag"], HTTP_GARMAX_VERSION="2026-01-15").status_code == 200
    assert poll(client, session.id, older["ETag"], HTTP_GARMAX_VERSION="2026-01-15").status_code == 304


def test_single_tryon_and_cart_item_polls(make_tryon, session, key):
    client = client_for(key)
    tryon = make_tryon("https://shop.example/c.jpg")
    item = TryOn.objects.filter(session=session).first()
    for target in (tryon, item):
        first = client.get(f"/api/v1/tryons/{target.id}")
        assert first.status_code == 200 and first["ETag"]
        assert client.get(f"/api/v1/tryons/{target.id}", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        TryOn.objects.filter(pk=target.pk).update(status=TryOn.Status.FAILED, error_code="x")
        changed = client.get(f"/api/v1/tryons/{target.id}", HTTP_IF_NONE_MATCH=first["ETag"])
        assert changed.status_code == 200 and changed.json()["status"] == "failed"
