"""The staff console tells a test-mode sandbox from its live organization, carries the product's name, and its
"View site" leads to the partner portal; partners still read the organization's own name."""

import re

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apikeys.models import ApiKey
from organizations.services import organization_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(organization):
    return organization_sandbox(organization=organization)


def _title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1).strip()


def test_the_organization_list_names_the_sandbox_apart_from_its_live_twin(
    admin_client, organization, sandbox
):
    page = admin_client.get(reverse("admin:organizations_organization_changelist")).content.decode()

    assert page.count(">Acme Fashion (test mode)</a>") == 1
    assert page.count(">Acme Fashion</a>") == 1


def test_searching_the_list_finds_both_rows_named_apart(admin_client, organization, sandbox):
    url = reverse("admin:organizations_organization_changelist")
    response = admin_client.get(url, {"q": "Acme"})
    page = response.content.decode()

    assert response.context["cl"].result_count == 2
    assert ">Acme Fashion (test mode)</a>" in page and ">Acme Fashion</a>" in page


def test_the_sandbox_change_page_title_says_test_mode(admin_client, organization, sandbox):
    live = admin_client.get(reverse("admin:organizations_organization_change", args=[quote(organization.pk)]))
    test = admin_client.get(reverse("admin:organizations_organization_change", args=[quote(sandbox.pk)]))

    assert _title(test).startswith(f"Acme Fashion (test mode, {sandbox.pk}) | Change organization")
    assert _title(live).startswith(f"Acme Fashion ({organization.pk}) | Change organization")


def test_select_widgets_and_their_search_name_the_sandbox(admin_client, organization, sandbox):
    # The organization picker of a membership (an autocomplete select) searches and labels with these texts.
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "organizations",
            "model_name": "membership",
            "field_name": "organization",
            "term": "Acme",
        },
    )

    assert response.status_code == 200
    labels = {row["id"]: row["text"] for row in response.json()["results"]}
    assert labels == {
        organization.pk: f"Acme Fashion ({organization.pk})",
        sandbox.pk: f"Acme Fashion (test mode, {sandbox.pk})",
    }


def test_lists_that_link_an_organization_name_the_sandbox_too(
    admin_client, organization, sandbox, partner_client
):
    # A customer of the sandbox (made with a test key) and the sandbox's ledger: each row links its owner.
    test = partner_client(organization, mode=ApiKey.Mode.TEST)
    assert test.post("/api/v1/customers", {"externalId": "shopper-1"}, format="json").status_code == 201
    customers = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    ledger = admin_client.get(reverse("admin:organizations_creditledgerentry_changelist")).content.decode()

    assert customers.count(">Acme Fashion (test mode)</a>") == 1
    assert ledger.count(">Acme Fashion (test mode)</a>") == 1 and ledger.count(">Acme Fashion</a>") == 1


def test_partners_still_read_the_organization_name_in_test_mode(organization, sandbox, partner_client):
    account = partner_client(organization, mode=ApiKey.Mode.TEST).get("/api/v1/account").json()

    assert account["livemode"] is False
    assert account["name"] == "Acme Fashion" == sandbox.name


def test_the_console_carries_the_product_name_and_view_site_leads_to_the_portal(admin_client):
    response = admin_client.get(reverse("admin:index"))
    page = response.content.decode()

    assert _title(response) == "GarmaxAI administration | GarmaxAI"
    assert re.search(r'<div id="site-name"><a href="/admin/">GarmaxAI staff console</a></div>', page)
    assert re.search(r'<a href="/portal/">\s*View site\s*</a>', page)
    assert "Django administration" not in page and "Django site admin" not in page


def test_the_sign_in_page_carries_the_product_name_too(client):
    page = client.get(reverse("admin:login")).content.decode()

    assert "GarmaxAI staff console" in page and "Django administration" not in page
