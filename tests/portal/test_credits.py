"""The portal's credits page: the balance and ledger of the organization (and mode) the member is acting as,
the ledger's filters as GET /v1/account/ledger reads them, cursor paging, a CSV export of the filtered ledger,
and the low-balance threshold set by billing through the organization PATCH's rules."""

import csv
import io
import re
from decimal import Decimal

import pytest

from organizations import services
from organizations.models import Membership, Organization
from organizations.serializers import STAFF_ACTOR
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "developer", "billing", "viewer"]
SETTERS = {"owner", "admin", "billing"}


def _users(organization, owner, member_of) -> dict:
    return {"owner": owner} | {role: member_of(organization, role=role) for role in ROLES[1:]}


def _references(response) -> list[str]:
    return re.findall(r"<td><code>([^<]*)</code></td><td>", response.content.decode())


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def finance(db):
    """GarmaxAI billing staff, named as no word of the page is."""
    return UserFactory(username="ann_from_finance", is_staff=True, groups=["billing"])


def _charges(organization, count, prefix="cts_"):
    for n in range(count):
        services.credits_charge(organization_id=organization.pk, amount="0.5", reference=f"{prefix}{n:03d}")


def test_every_role_sees_the_balance_and_ledger_and_only_billing_roles_the_threshold_form(
    organization, owner, member_of, portal_client
):
    users = _users(organization, owner, member_of)
    for role in ROLES:
        page = portal_client(users[role]).get("/portal/credits/")
        assert page.status_code == 200, role
        text = page.content.decode()
        assert "100.00" in text and "signup" in text  # the balance, and the signup grant's entry
        assert ('id="threshold-form"' in text) == (role in SETTERS), role


@pytest.mark.parametrize("role", ["billing", "admin", "owner"])
def test_billing_roles_set_the_threshold_as_the_api_patch_does(
    organization, owner, member_of, portal_client, role
):
    user = owner if role == "owner" else member_of(organization, role=role)
    sandbox = services.organization_sandbox(organization=organization)
    client = portal_client(user)
    response = client.post("/portal/credits/threshold", {"threshold": "42.5"}, follow=True)
    assert "Low-balance threshold set to 42.5 credits." in response.content.decode()
    organization.refresh_from_db()
    sandbox.refresh_from_db()
    assert organization.settings["lowBalanceThreshold"] == 42.5
    assert organization.low_balance_threshold == Decimal("42.5")
    assert sandbox.low_balance_threshold == Decimal("42.5")  # the sandbox follows, as after a PATCH


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_developer_and_viewer_get_403_on_a_forged_post_and_nothing_changes(
    organization, member_of, portal_client, role
):
    user = member_of(organization, role=role)
    before = Organization.objects.get(pk=organization.pk).settings
    response = portal_client(user).post("/portal/credits/threshold", {"threshold": "5"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=organization.pk).settings == before


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "1000000.01",
        "99999999999999999999",
        "abc",
        "5\x00",
        "5\x1b",
        "1.234",
        "",
        "NaN",
        "Infinity",
        "9" * 300,
    ],
)
def test_a_bad_threshold_is_refused_like_the_api_and_changes_nothing(
    organization, owner, portal_client, value
):
    before = Organization.objects.get(pk=organization.pk).settings
    response = portal_client(owner).post("/portal/credits/threshold", {"threshold": value}, follow=True)
    assert response.status_code == 200
    assert "Not saved. lowBalanceThreshold:" in response.content.decode()
    assert Organization.objects.get(pk=organization.pk).settings == before


def test_the_api_refuses_what_the_portal_refuses(organization, owner, jwt_client):
    answer = jwt_client(owner).patch(
        f"/api/organizations/{organization.pk}",
        {"settings": {"lowBalanceThreshold": -1}},
        format="json",
    )
    assert answer.status_code == 400


def test_the_threshold_form_needs_a_post(organization, owner, portal_client):
    assert portal_client(owner).get("/portal/credits/threshold").status_code == 405


def test_ledger_filters_are_the_account_ledgers(organization, owner, portal_client, finance):
    _charges(organization, 2)
    services.credits_top_up(organization=organization, amount="10", description="Invoice 7", actor=finance)
    client = portal_client(owner)
    assert _references(client.get("/portal/credits/?type=charge")) == ["cts_001", "cts_000"]
    assert _references(client.get("/portal/credits/?type=grant")) == ["signup"]
    assert len(_references(client.get("/portal/credits/?from=2000-01-01&to=9999-12-29"))) == 4
    assert _references(client.get("/portal/credits/?to=2000-01-01")) == []
    staff_row = client.get("/portal/credits/?type=top_up").content.decode()
    assert STAFF_ACTOR in staff_row and finance.username not in staff_row


@pytest.mark.parametrize(
    "query",
    [
        "type=gift",
        "type=%01",
        "type=" + "x" * 300,
        "from=9999-12-31",
        "to=0001-01-01T00:00:00%2B23:59",
        "from=tomorrow",
        "from=2026-02-01&to=2026-01-01",
        "to=" + "1" * 100,
    ],
)
def test_bad_ledger_filters_get_a_clear_message_never_a_500(organization, owner, portal_client, query):
    client = portal_client(owner)
    for url in (f"/portal/credits/?{query}", f"/portal/credits/export.csv?{query}"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Not shown." in response.content.decode()


def test_a_long_ledger_pages_by_cursor_following_older(organization, owner, portal_client):
    _charges(organization, 120)
    client = portal_client(owner)
    seen, url, pages = [], "/portal/credits/?type=charge", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += _references(response)
        pages += 1
        older = re.search(r'href="(/portal/credits/\?[^"]+)" rel="next"', response.content.decode())
        url = older.group(1).replace("&amp;", "&") if older else None
    assert pages == 3
    assert seen == [f"cts_{n:03d}" for n in reversed(range(120))]


def test_the_csv_export_has_the_filtered_rows_and_never_another_organizations(
    organization, other_organization, owner, portal_client, finance
):
    _charges(organization, 3)
    _charges(other_organization, 2, prefix="rival_")
    services.credits_top_up(organization=organization, amount="10", actor=finance)
    client = portal_client(owner)

    every = _csv(client.get("/portal/credits/export.csv"))
    assert [row["reference"] for row in every] == ["", "cts_002", "cts_001", "cts_000", "signup"]
    assert {row["organizationId"] for row in every} == {organization.pk}
    assert every[0]["kind"] == "top_up" and every[0]["actor"] == STAFF_ACTOR  # never which employee

    charges = _csv(client.get("/portal/credits/export.csv?type=charge&from=2000-01-01"))
    assert [(row["reference"], row["amount"]) for row in charges] == [
        ("cts_002", "-0.50"),
        ("cts_001", "-0.50"),
        ("cts_000", "-0.50"),
    ]
    page = client.get("/portal/credits/?type=charge").content.decode()
    assert "/portal/credits/export.csv?type=charge" in page  # the export link keeps the filters


def test_another_organizations_ledger_never_appears(organization, other_organization, owner, portal_client):
    _charges(other_organization, 2, prefix="rival_")
    rival_entry = other_organization.ledger_entries.first()
    client = portal_client(owner)
    page = client.get("/portal/credits/")
    assert _references(page) == ["signup"]
    assert "rival_" not in client.get(f"/portal/credits/?after={rival_entry.pk}").content.decode()


def test_test_mode_shows_the_sandboxs_balance_ledger_and_export_only(organization, owner, portal_client):
    _charges(organization, 2)
    client = portal_client(owner)
    client.post("/portal/mode", {"mode": "test"})
    sandbox = services.organization_sandbox(organization=organization)
    services.credits_charge(organization_id=sandbox.pk, amount="1", reference="cts_sandbox")
    page = client.get("/portal/credits/")
    assert _references(page) == ["cts_sandbox", "sandbox-start"]
    assert "99.00" in page.content.decode() and "(sandbox)" in page.content.decode()
    rows = _csv(client.get("/portal/credits/export.csv"))
    assert [row["reference"] for row in rows] == ["cts_sandbox", "sandbox-start"]
    assert {row["organizationId"] for row in rows} == {sandbox.pk}
    assert client.get("/portal/credits/export.csv")["Content-Disposition"].startswith(
        'attachment; filename="garmax-ledger-test-'
    )


def test_viewer_sees_no_edit_controls(organization, member_of, portal_client):
    viewer = member_of(organization, role=Membership.Role.VIEWER)
    page = portal_client(viewer).get("/portal/credits/").content.decode()
    assert 'method="post"' not in page.split('<main id="content">')[1]
