"""A new partner's first hour in the portal, in a real browser (Chromium driven by Selenium) against a live
server: from the invitation email to a first key, a webhook whose failed delivery is replayed, a request
found in the log and the ledger exported as CSV; then the same pages at a phone's width and by keyboard.
Every page visited is saved as a screenshot under screenshots/portal/.

Two steps a worker does in production are run here in the test's process, through the same services the
worker's tasks call: sending the webhook's due deliveries, and flushing usage into the request log.
"""

import csv
import io
import re

import pytest
import requests
from django.core import mail

from organizations.services.credits import credits_top_up
from tests.browser import Browser, browsers, needs_chromium
from tests.factories import PASSWORD, UserFactory, make_organization
from tests.http_servers import WebhookReceiver
from usage import buffer
from webhooks.models import Webhook
from webhooks.services.delivery import webhook_deliveries_send_due

pytestmark = [pytest.mark.slow, needs_chromium]


class Partner(Browser):
    def submit_text(self, text: str, within: str = "main"):
        """Press the link or button of `within` that reads `text`."""
        for element in self.find(within).find_elements("css selector", "a, button"):
            if element.text.strip() == text:
                self.driver.execute_script("arguments[0].id = 'pressed-by-test'", element)
                return self.submit("#pressed-by-test")
        raise AssertionError(f"no link or button reads {text!r} in {within}")


@pytest.fixture
def browser_for(live_server, tmp_path):
    yield from browsers(live_server, tmp_path, "portal", Partner)


@pytest.fixture
def receiver():
    """The partner's webhook endpoint: down (503) for its first request, up afterwards."""
    answers = iter([(503, {"Content-Type": "text/plain"}, b"maintenance until 10:00", 0)])
    endpoint = WebhookReceiver(
        respond=lambda request: next(answers, (200, {"Content-Type": "application/json"}, b'{"ok": true}', 0))
    )
    yield endpoint
    endpoint.stop()


def _sign_in(browser: Partner, username: str, password: str):
    browser.visit("/portal/login/", shot="sign-in")
    browser.fill("#id_username", username)
    browser.fill("#id_password", password)
    browser.submit("#login-form button[type=submit]")


@pytest.mark.django_db(transaction=True)
def test_a_new_partner_goes_from_the_invitation_to_a_key_a_replayed_delivery_a_logged_request_and_a_csv(
    browser_for, receiver, settings, live_server
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the webhook receiver is on loopback
    settings.PUBLIC_BASE_URL = live_server.url
    owner = UserFactory(username="olivia", email="olivia@acme.example")
    shop = make_organization(owner=owner, name="Acme Fashion")
    billing_staff = UserFactory(username="billie", is_staff=True, groups=["billing"])

    # The owner invites a developer from the team page.
    olivia = browser_for("owner")
    _sign_in(olivia, "olivia", PASSWORD)
    olivia.visit("/portal/team/", shot="team")
    olivia.fill("#invite-email", "dev@acme.example")
    olivia.submit("#invite-form button[type=submit]")
    assert "Invitation emailed to dev@acme.example" in olivia.text()
    olivia.screenshot("invited")

    # The developer opens the email's link, chooses a password and is in.
    link = re.search(r"(https?://\S+/portal/invitations/\S+/)", mail.outbox[-1].body).group(1)
    dev = browser_for("developer")
    dev.visit(link, shot="invitation")
    dev.fill("#id_password", "a long and fine passphrase")
    dev.fill("#id_password_again", "a long and fine passphrase")
    dev.submit("#accept-form button[type=submit]")
    assert "Welcome to Acme Fashion" in dev.text()
    assert dev.text("#role") == "developer"
    dev.screenshot("overview")

    # A first key: the secret is shown once, with a copy button.
    dev.submit('nav.sections a[href="/portal/keys/"]')
    dev.fill("#key-name", "Shop server")
    dev.click('input[name=scopes][value="all"]')
    dev.submit("#key-create button[type=submit]")
    secret = dev.text("#new-secret")
    assert secret.startswith("gx_live_")
    assert dev.find('button[data-copy="new-secret"]')
    dev.screenshot("key-created")
    dev.visit("/portal/keys/")
    assert secret not in dev.driver.page_source

    # The key works; a request that fails is found in the request log by its request id.
    account = requests.get(f"{live_server.url}/api/v1/account", headers={"X-API-Key": secret}, timeout=10)
    assert account.status_code == 200
    missing = requests.get(
        f"{live_server.url}/api/v1/customers/no-such-shopper", headers={"X-API-Key": secret}, timeout=10
    )
    assert missing.status_code == 404
    request_id = missing.headers["X-Request-Id"]
    buffer.usage_batch_push()
    buffer.usage_flush()
    dev.submit('nav.sections a[href="/portal/logs/"]')
    dev.fill("#f-id", request_id)
    dev.submit("#log-find button[type=submit]")
    assert request_id in dev.text() and "404" in dev.text()
    dev.screenshot("request-found")

    # A webhook endpoint; its first delivery fails (the shop is down), is replayed, and arrives.
    dev.submit('nav.sections a[href="/portal/webhooks/"]')
    dev.fill("#webhook-url", receiver.url_at("/hooks/garmax"))
    dev.click('input[name=events][value="credits.added"]')
    dev.submit("#webhook-create button[type=submit]")
    assert dev.text("#webhook-secret").startswith("whsec_")
    dev.screenshot("webhook-created")
    webhook = Webhook.objects.get(organization=shop)
    credits_top_up(organization=shop, amount=250, description="Invoice 2026-12", actor=billing_staff)
    webhook_deliveries_send_due(webhook_id=webhook.pk)  # the worker's delivery task
    assert [r.path for r in receiver.requests] == ["/hooks/garmax"]
    dev.visit(f"/portal/webhooks/{webhook.pk}/", shot="delivery-failed")
    assert "credits.added" in dev.text("#deliveries") and "HTTP 503" in dev.text("#deliveries")
    dev.submit("#deliveries tbody a")
    assert "maintenance until 10:00" in dev.text("#attempts")
    dev.screenshot("delivery-attempts")
    dev.submit_text("Redeliver this event")
    webhook_deliveries_send_due(webhook_id=webhook.pk)
    assert len(receiver.requests) == 2 and receiver.requests[1].body == receiver.requests[0].body
    dev.visit(f"/portal/webhooks/{webhook.pk}/", shot="delivery-replayed")
    assert "succeeded" in dev.text("#deliveries")

    # The ledger, exported as CSV: the grant and the top-up, with our staff unnamed.
    dev.submit('nav.sections a[href="/portal/credits/"]')
    assert "350" in dev.text("#balance")
    dev.screenshot("credits")
    rows = list(csv.DictReader(io.StringIO(dev.download("a[href*='export.csv']", ".csv").read_text())))
    assert [(row["kind"], row["amount"]) for row in rows] == [("top_up", "250.00"), ("grant", "100.00")]
    assert "billie" not in str(rows)

    # A developer sees no team controls; the owner sees the new member.
    dev.visit("/portal/team/", shot="team-as-developer")
    assert not dev.driver.find_elements("css selector", "#invite-form")
    olivia.visit("/portal/team/", shot="team-with-developer")
    assert "dev@acme.example" in olivia.text("#members")


@pytest.mark.django_db(transaction=True)
def test_the_portal_fits_a_phone_and_works_by_keyboard(browser_for):
    from selenium.webdriver.common.keys import Keys

    owner = UserFactory(username="olivia")
    make_organization(owner=owner, name="Acme Fashion")
    phone = browser_for("phone", size="390,844")
    _sign_in(phone, "olivia", PASSWORD)
    for path, label in [
        ("/portal/", "overview"),
        ("/portal/keys/", "keys"),
        ("/portal/webhooks/", "webhooks"),
        ("/portal/logs/", "logs"),
        ("/portal/usage/", "usage"),
        ("/portal/credits/", "credits"),
        ("/portal/team/", "team"),
    ]:
        phone.visit(path, shot=f"phone-{label}")
        overflow = phone.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at a phone's width"

    # The first Tab reaches "Skip to content"; Enter moves on to the page's content.
    phone.visit("/portal/keys/")
    phone.find("body").send_keys(Keys.TAB)
    focused = phone.driver.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    assert phone.driver.current_url.endswith("#content")
    phone.find("#key-name").send_keys("typed by keyboard")
    assert phone.find("#key-name").get_attribute("value") == "typed by keyboard"
