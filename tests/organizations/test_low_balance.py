"""Low-balance alerts: one credits.low event and one email when a charge crosses lowBalanceThreshold
downward, re-armed only by a top-up above it; credits.added on every top-up."""

import json
from decimal import Decimal

import pytest
from django.core import mail

from organizations import services
from organizations.events import CREDITS_ADDED, CREDITS_LOW
from organizations.models import Organization
from tests.concurrency import run_concurrently
from tests.factories import make_organization
from webhooks.models import WebhookDelivery, WebhookEvent


def events(organization, event_type):
    recorded = WebhookEvent.objects.filter(organization=organization, event=event_type.name)
    return [json.loads(e.body) for e in recorded]


@pytest.fixture
def charge(django_capture_on_commit_callbacks, eager_tasks):
    """Charge through the service, running what it queues after commit (the email task) inline."""
    counter = iter(range(10_000))

    def run(organization, amount):
        with django_capture_on_commit_callbacks(execute=True):
            return services.credits_charge(
                organization_id=organization.id, amount=Decimal(amount), reference=f"cts_{next(counter)}"
            )

    return run


@pytest.fixture
def shop(owner):
    # 100 signup credits, default threshold 20.
    return make_organization(owner=owner, name="Acme Fashion", billing_email="billing@acme.example")


@pytest.mark.django_db
class TestCreditsLow:
    def test_a_charge_crossing_the_threshold_sends_one_event_and_one_email(self, shop, charge):
        charge(shop, 50)
        assert events(shop, CREDITS_LOW) == [] and mail.outbox == []

        charge(shop, 30)  # 50 -> 20: at the threshold counts as low

        [event] = events(shop, CREDITS_LOW)
        assert event["data"] == {
            "organizationId": shop.id,
            "balance": 20,
            "threshold": 20,
            "reference": event["data"]["reference"],
        }
        assert event["data"]["reference"].startswith("cts_")
        [email] = mail.outbox
        assert email.to == ["billing@acme.example"]
        assert "20 credits left" in email.body and shop.id in email.body
        assert "Acme Fashion is low on credits" in email.subject

    def test_further_charges_below_the_threshold_alert_no_more(self, shop, charge):
        charge(shop, 85)
        charge(shop, 5)
        charge(shop, 5)
        assert len(events(shop, CREDITS_LOW)) == 1
        assert len(mail.outbox) == 1

    def test_only_a_top_up_above_the_threshold_rearms_the_alert(self, shop, charge, billing_staff):
        charge(shop, 85)  # 15: alerted
        services.credits_top_up(organization=shop, amount=3, actor=billing_staff, description="small")
        charge(shop, 1)  # 18 -> 17: still disarmed, the top-up did not lift it above 20
        assert len(events(shop, CREDITS_LOW)) == 1

        services.credits_top_up(organization=shop, amount=10, actor=billing_staff, description="more")
        shop.refresh_from_db()
        assert shop.credits == Decimal("27.00") and shop.low_balance_alerted_at is None
        charge(shop, 7)  # 27 -> 20: crosses again

        assert len(events(shop, CREDITS_LOW)) == 2
        assert len(mail.outbox) == 2

    def test_a_refund_above_the_threshold_does_not_rearm(self, shop, charge):
        entry = charge(shop, 85)
        services.credits_refund(organization_id=shop.id, amount=85, reference=f"{entry.reference}:refund")
        charge(shop, 85)
        assert len(events(shop, CREDITS_LOW)) == 1

    def test_a_charge_that_starts_at_or_below_the_threshold_is_not_a_crossing(self, owner, charge):
        shop = make_organization(owner=owner, settings_={"lowBalanceThreshold": 150})  # 100 < 150
        charge(shop, 10)
        assert events(shop, CREDITS_LOW) == []

    def test_the_threshold_setting_is_honoured(self, owner, charge):
        shop = make_organization(
            owner=owner, billing_email="b@acme.example", settings_={"lowBalanceThreshold": Decimal("50.5")}
        )
        charge(shop, 49)  # 51: above 50.5
        assert events(shop, CREDITS_LOW) == []
        charge(shop, Decimal("0.5"))  # 50.5
        assert events(shop, CREDITS_LOW)[0]["data"]["threshold"] == 50.5

    def test_no_billing_email_means_the_webhook_only(self, owner, charge):
        shop = make_organization(owner=owner)
        charge(shop, 90)
        assert len(events(shop, CREDITS_LOW)) == 1
        assert mail.outbox == []

    def test_a_test_mode_sandbox_gets_its_event_but_billing_is_not_emailed(self, shop, charge):
        sandbox = services.organization_sandbox(organization=shop)
        assert sandbox.billing_email == "billing@acme.example"  # the sandbox mirrors its organization

        charge(sandbox, 85)

        [event] = events(sandbox, CREDITS_LOW)
        assert event["livemode"] is False
        assert mail.outbox == []
        assert events(shop, CREDITS_LOW) == []

    def test_a_replayed_charge_alerts_nothing(self, shop, charge):
        services.credits_charge(organization_id=shop.id, amount=85, reference="cts_same")
        services.credits_charge(organization_id=shop.id, amount=85, reference="cts_same")
        assert len(events(shop, CREDITS_LOW)) == 1

    def test_a_rolled_back_charge_leaves_no_event_and_stays_armed(self, shop):
        from django.db import transaction

        with pytest.raises(RuntimeError), transaction.atomic():
            services.credits_charge(organization_id=shop.id, amount=85, reference="cts_rolled_back")
            raise RuntimeError("the session insert failed")
        shop.refresh_from_db()
        assert events(shop, CREDITS_LOW) == [] and shop.low_balance_alerted_at is None

    def test_the_event_is_queued_for_subscribed_endpoints_only(self, shop, settings):
        from tests.webhooks.factories import make_webhook

        settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # loopback URLs: nothing is sent in this test
        make_webhook(shop, "http://127.0.0.1:9/low", events=[CREDITS_LOW.name])
        make_webhook(shop, "http://127.0.0.1:9/other", events=["cart_tryon.completed"])
        services.credits_charge(organization_id=shop.id, amount=85, reference="cts_low")
        [delivery] = WebhookDelivery.objects.filter(organization=shop)
        assert delivery.event.event == CREDITS_LOW.name


@pytest.mark.django_db
class TestCreditsAdded:
    def test_every_top_up_records_credits_added(self, shop, billing_staff):
        services.credits_top_up(organization=shop, amount=25, actor=billing_staff, description="Invoice 7")
        services.credits_top_up(organization=shop, amount=5, actor=billing_staff, description="Invoice 8")
        payloads = [e["data"] for e in events(shop, CREDITS_ADDED)]
        assert sorted(p["amount"] for p in payloads) == [5, 25]
        assert {
            "organizationId": shop.id,
            "amount": 25,
            "balance": 125,
            "description": "Invoice 7",
        } in payloads

    def test_charges_and_grants_are_not_top_ups(self, shop, charge):
        charge(shop, 1)
        assert events(shop, CREDITS_ADDED) == []


@pytest.mark.django_db
class TestThresholdSetting:
    def test_the_api_shows_the_default_and_updates_it(self, shop, owner, jwt_client):
        client = jwt_client(owner)
        assert client.get(f"/api/organizations/{shop.id}").json()["settings"]["lowBalanceThreshold"] == 20

        response = client.patch(
            f"/api/organizations/{shop.id}", {"settings": {"lowBalanceThreshold": 12.5}}, format="json"
        )

        assert response.status_code == 200, response.content
        assert response.json()["settings"]["lowBalanceThreshold"] == 12.5
        shop.refresh_from_db()
        assert shop.low_balance_threshold == Decimal("12.5")

    def test_an_organization_stored_without_the_setting_shows_the_default(self, shop, owner, jwt_client):
        Organization.objects.filter(pk=shop.pk).update(settings={"webhookRetries": 3})
        body = jwt_client(owner).get(f"/api/organizations/{shop.id}").json()
        assert body["settings"]["lowBalanceThreshold"] == 20

    @pytest.mark.parametrize("value", [-1, "lots", 1_000_001, 1.234, True, None])
    def test_bad_thresholds_are_refused_and_change_nothing(self, shop, owner, jwt_client, value):
        response = jwt_client(owner).patch(
            f"/api/organizations/{shop.id}", {"settings": {"lowBalanceThreshold": value}}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "ValidationError"
        shop.refresh_from_db()
        assert shop.low_balance_threshold == 20

    def test_the_service_refuses_bad_thresholds_too(self, shop):
        from api.errors import ValidationError

        with pytest.raises(ValidationError):
            services.organization_update(organization=shop, data={"settings": {"lowBalanceThreshold": -3}})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_across_the_threshold_alert_once():
    shop = make_organization(billing_email="billing@acme.example")
    run_concurrently(
        lambda i: services.credits_charge(organization_id=shop.id, amount=10, reference=f"cts_{i}"), 9
    )
    shop.refresh_from_db()
    assert shop.credits == Decimal("10.00")
    assert len(events(shop, CREDITS_LOW)) == 1


@pytest.mark.django_db
class TestLowBalanceEmailDelivery:
    """Issue 27 item 7: the email states the crossing's balance, and an alert whose email could not be handed
    to the mail backend does not stay disarmed; nothing the partner wrote reaches the log."""

    def test_the_email_states_the_balance_right_after_the_crossing_charge_as_the_event_does(
        self, owner, django_capture_on_commit_callbacks, eager_tasks
    ):
        shop = make_organization(
            owner=owner, billing_email="billing@acme.example", settings_={"lowBalanceThreshold": 30}
        )
        with django_capture_on_commit_callbacks() as queued:
            services.credits_charge(organization_id=shop.id, amount=74, reference="cts_cross")  # 100 -> 26
        # Refunds land before the email task runs (a busy queue): the balance is 30.5 when it does.
        services.credits_refund(organization_id=shop.id, amount=Decimal("4.5"), reference="cts_other:refund")
        for callback in queued:
            callback()

        [event] = events(shop, CREDITS_LOW)
        [email] = mail.outbox
        assert event["data"]["balance"] == 26
        assert "(26 left)" in email.subject and "has 26 credits left" in email.body
        assert "30.5" not in email.subject + email.body

    def test_a_refused_email_rearms_the_alert_and_logs_nothing_the_partner_wrote(
        self, shop, charge, settings, caplog
    ):
        settings.EMAIL_BACKEND = "tests.organizations.mail_backends.Refusing"
        Organization.objects.filter(pk=shop.pk).update(name="Org B Bcc: attacker@evil.example")

        with caplog.at_level("INFO"):
            charge(shop, 85)

        shop.refresh_from_db()
        assert shop.low_balance_alerted_at is None  # re-armed: the next crossing alerts again
        assert len(events(shop, CREDITS_LOW)) == 1  # the event went once, in the outbox with the charge
        assert "attacker" not in caplog.text and "Org B" not in caplog.text
        assert "re-armed" in caplog.text

    def test_a_mail_server_outage_is_retried_until_the_email_goes(self, shop, charge, settings):
        from tests.organizations.mail_backends import Down

        settings.EMAIL_BACKEND = "tests.organizations.mail_backends.Down"
        Down.failures = 3

        charge(shop, 85)

        [email] = mail.outbox
        assert "15 left" in email.subject
        shop.refresh_from_db()
        assert shop.low_balance_alerted_at is not None  # sent: disarmed until a top-up
        assert len(events(shop, CREDITS_LOW)) == 1

    def test_the_alert_is_rearmed_when_the_mail_server_stays_down(self, shop, charge, settings, caplog):
        from tests.organizations.mail_backends import Down

        settings.EMAIL_BACKEND = "tests.organizations.mail_backends.Down"
        Down.failures = 100

        with caplog.at_level("INFO"):
            charge(shop, 85)
        Down.failures = 0

        assert mail.outbox == []
        shop.refresh_from_db()
        assert shop.low_balance_alerted_at is None
        assert "Acme Fashion" not in caplog.text

    def test_a_name_stored_with_a_newline_before_the_rule_cannot_break_the_email(self, shop, charge):
        Organization.objects.filter(pk=shop.pk).update(name="Org B\nBcc: attacker@evil.example")

        charge(shop, 85)

        [email] = mail.outbox
        assert email.to == ["billing@acme.example"] and email.bcc == []
        assert "\n" not in email.subject and "Org B Bcc: attacker@evil.example" in email.subject

    def test_an_email_that_cannot_be_queued_rearms_the_alert(
        self, shop, django_capture_on_commit_callbacks, monkeypatch
    ):
        from organizations.tasks import send_low_balance_email

        def broker_down(*args, **kwargs):  # stands in for a broker outage at the moment of queueing
            raise ConnectionRefusedError(111, "Connection refused")

        monkeypatch.setattr(send_low_balance_email, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            services.credits_charge(organization_id=shop.id, amount=85, reference="cts_unqueued")

        shop.refresh_from_db()
        assert shop.low_balance_alerted_at is None
        assert len(events(shop, CREDITS_LOW)) == 1

    def test_a_later_alert_is_not_rearmed_by_an_earlier_failed_email(self, shop, billing_staff):
        first = services.credits_charge(organization_id=shop.id, amount=85, reference="cts_first")
        services.credits_top_up(organization=shop, amount=50, actor=billing_staff)  # 65: re-armed
        services.credits_charge(organization_id=shop.id, amount=50, reference="cts_second")  # 15: alerted

        assert services.low_balance_alert_rearm(entry_id=first.pk) is False
        shop.refresh_from_db()
        assert shop.low_balance_alerted_at is not None


@pytest.mark.django_db
def test_a_sandbox_reset_rearms_the_alert_as_a_top_up_does(shop, owner):
    sandbox = services.organization_sandbox(organization=shop)
    for cycle in range(3):
        services.credits_charge(organization_id=sandbox.id, amount=85, reference=f"cts_spend_{cycle}")
        services.sandbox_reset(organization=shop, actor=owner)

    assert len(events(sandbox, CREDITS_LOW)) == 3
    sandbox.refresh_from_db()
    assert sandbox.credits == Decimal("100.00") and sandbox.low_balance_alerted_at is None
