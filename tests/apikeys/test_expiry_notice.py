"""Key expiry reminders (issue 32, "Notifications"): an email 7 days and again 1 day before a key expires,
to the members who manage keys, exactly once per key and stage even with two beats racing; never for revoked
keys or keys without an expiry; again for a new date when the expiry changes or the key is rolled."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from apikeys import expiry_reminders, services
from apikeys.models import ApiKey
from config.celery import app as celery_app
from organizations.models import Organization
from tests.concurrency import run_concurrently
from tests.factories import make_organization

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def team(organization, member_of):
    owner = organization.memberships.get(role="owner").user
    owner.email = "owner@acme.example"
    owner.save()
    for role in ("admin", "developer", "billing", "viewer"):
        member_of(organization, role=role, email=f"{role}@acme.example")
    return organization


@pytest.fixture
def beat(django_capture_on_commit_callbacks, eager_tasks):
    """One beat run at `now` (default: the real now), with the email tasks it queues run inline."""

    def run(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return expiry_reminders.apikey_expiry_reminders_queue(now=now)

    return run


def _key(organization, name="Checkout server", in_days=None, **kwargs):
    expires_at = timezone.now() + timedelta(days=in_days) if in_days is not None else None
    return services.apikey_create(
        organization=organization, name=name, scopes=["all"], expires_at=expires_at, **kwargs
    )


def _reminded(key_name):
    return [m for m in mail.outbox if key_name in m.subject]


def test_a_key_is_reminded_7_days_and_again_1_day_before_once_each(team, beat):
    key, secret = _key(team, in_days=5)
    assert beat() == 1
    [week] = _reminded("Checkout server")
    assert "within 7 days" in week.subject
    assert sorted(week.to) == ["admin@acme.example", "developer@acme.example", "owner@acme.example"]
    assert "Acme Fashion" in week.subject and key.key_prefix in week.subject + week.body
    assert secret not in week.body and secret[len(key.key_prefix) :] not in week.body
    assert f"{settings.PUBLIC_BASE_URL}/portal/keys/" in week.body and team.id in week.body

    assert beat() == 0 and beat(now=timezone.now() + timedelta(days=3)) == 0  # the week's, once
    assert beat(now=timezone.now() + timedelta(days=4, hours=12)) == 1
    assert beat(now=timezone.now() + timedelta(days=4, hours=13)) == 0
    week, day = _reminded("Checkout server")
    assert "within a day" in day.subject
    assert len(mail.outbox) == 2


def test_revoked_keys_keys_without_expiry_and_far_off_keys_are_never_reminded(team, beat):
    revoked, _ = _key(team, name="Revoked key", in_days=2)
    services.apikey_revoke(key=revoked)
    _key(team, name="Forever key")
    _key(team, name="Far key", in_days=30)
    assert beat() == 0 and beat(now=timezone.now() + timedelta(days=1, hours=12)) == 0
    assert mail.outbox == []
    revoked.refresh_from_db()
    assert revoked.expiry_reminded_week_for is None and revoked.expiry_reminded_day_for is None


def test_a_key_first_found_within_its_last_day_gets_the_days_reminder_only(team, beat):
    _key(team, in_days=0.5)
    assert beat() == 1
    [day] = mail.outbox
    assert "within a day" in day.subject
    assert beat() == 0


def test_a_changed_expiry_is_reminded_again_for_its_new_date(team, beat):
    key, _ = _key(team, in_days=5)
    beat()
    assert len(mail.outbox) == 1
    services.apikey_update(key=key, data={"expiresAt": timezone.now() + timedelta(days=6)})
    assert beat() == 1
    assert len(_reminded("Checkout server")) == 2
    services.apikey_update(key=ApiKey.objects.get(pk=key.pk), data={"expiresAt": None})
    assert beat(now=timezone.now() + timedelta(days=5, hours=12)) == 0


def test_a_rolled_key_is_reminded_of_its_grace_end_naming_its_replacement(team, beat):
    key, _ = _key(team, in_days=20)
    new, _ = services.apikey_roll(key=key, expires_in=86400)
    assert beat() == 1
    [day] = mail.outbox
    assert key.key_prefix in day.subject and "within a day" in day.subject
    assert new.key_prefix in day.body and "replacement" in day.body


def test_a_key_revoked_after_its_claim_gets_no_email(team, django_capture_on_commit_callbacks, eager_tasks):
    key, _ = _key(team, in_days=5)
    with django_capture_on_commit_callbacks() as queued:
        expiry_reminders.apikey_expiry_reminders_queue()
    services.apikey_revoke(key=key)
    for callback in queued:
        callback()
    assert mail.outbox == []


def test_test_mode_keys_are_reminded_too_and_say_so(team, beat):
    _key(team, name="Staging key", in_days=3, mode="test")
    beat()
    [email] = mail.outbox
    assert "test API key" in email.body


def test_nobody_who_manages_keys_means_no_email_and_no_error(beat):
    shop = make_organization(name="Quiet Shop")
    shop.memberships.update(role="viewer")
    _key(shop, in_days=3)
    assert beat() == 1 and mail.outbox == []


def test_a_mail_server_outage_is_retried_then_the_claim_is_given_back(team, beat, settings):
    from tests.organizations.mail_backends import Down

    settings.EMAIL_BACKEND = "tests.organizations.mail_backends.Down"
    Down.failures = 100
    key, _ = _key(team, in_days=3)
    beat()
    Down.failures = 0
    assert mail.outbox == []
    key.refresh_from_db()
    assert key.expiry_reminded_week_for is None  # given back: the next beat claims it again
    assert beat() == 1 and len(mail.outbox) == 1


def test_a_name_stored_with_a_newline_cannot_break_the_email(team, beat):
    Organization.objects.filter(pk=team.pk).update(name="Org B\nBcc: attacker@evil.example")
    key, _ = _key(team, in_days=3)
    ApiKey.objects.filter(pk=key.pk).update(name="Key\r\nBcc: x@evil.example")
    beat()
    [email] = mail.outbox
    assert "\n" not in email.subject and "\r" not in email.subject and email.bcc == []


def test_the_beat_entry_is_declared():
    assert celery_app.conf.beat_schedule["queue-api-key-expiry-reminders"]["task"] == (
        "apikeys.queue_expiry_reminders"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_racing_send_each_reminder_exactly_once(member_of):
    shop = make_organization(name="Race Shop")
    owner = shop.memberships.get(role="owner").user
    owner.email = "owner@race.example"
    owner.save()
    keys = [_key(shop, name=f"Race key {n}", in_days=3 + n % 3)[0] for n in range(12)]
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        claimed = run_concurrently(lambda _: expiry_reminders.apikey_expiry_reminders_queue(), 4)
    finally:
        celery_app.conf.task_always_eager = previous
    assert sum(claimed) == len(keys)
    assert sorted(m.subject for m in mail.outbox) == sorted({m.subject for m in mail.outbox})
    assert len(mail.outbox) == len(keys)
