"""The console's search box from outside: staff pasting a partner's test-mode key (issue 27, item 18)."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from tests.factories import UserFactory, make_organization
from tests.live_service import live_service  # noqa: F401 (a fixture)
from tests.organizations.admin_http import AdminSession, form_fields

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.usefixtures("service_password_hasher")]


@pytest.mark.parametrize("mode", ["live", "test"])
def test_the_search_box_finds_a_pasted_live_or_test_key_by_its_prefix(
    live_service,  # noqa: F811 (the fixture)
    transactional_db,
    api_key_for,
    mode,
):
    UserFactory(username="sam", is_staff=True, groups=["support"])
    key, raw_key = api_key_for(make_organization(name="Acme Fashion"), mode=mode)
    support = AdminSession(live_service, "sam")
    search = reverse("console:search")
    token = dict(form_fields(support.get(search).text, "search-page"))["csrfmiddlewaretoken"]

    response = support.post(search, {"csrfmiddlewaretoken": token, "q": raw_key})

    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"] == reverse("admin:apikeys_apikey_change", args=[quote(key.pk)])
