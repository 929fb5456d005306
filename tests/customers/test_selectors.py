"""customers.selectors.photo_for_key: the photo every try-on create looks up, tenant-scoped."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from customers.selectors import photo_for_key
from tests.factories import make_photo_row

pytestmark = pytest.mark.django_db


def test_the_photo_comes_with_its_customer_in_one_query(organization):
    customer = Customer.objects.create(
        organization=organization, external_id="shopper-1", email="a@example.com", name="Ada"
    )
    stored = make_photo_row(customer, f"enterprise/org-{organization.id}/photos/p1.jpg")

    with CaptureQueriesContext(connection) as queries:
        photo = photo_for_key(organization_id=organization.id, storage_key=stored.storage_key)
        assert (photo.pk, photo.customer_id, photo.width) == (stored.pk, customer.pk, 600)
        assert (photo.customer.pk, photo.customer.external_id) == (customer.pk, "shopper-1")
    assert len(queries.captured_queries) == 1
    # Fields not loaded with the photo are read on use, never made up.
    assert (photo.customer.email, photo.customer.name) == ("a@example.com", "Ada")


def test_another_organizations_photo_key_is_not_found(organization, other_organization):
    customer = Customer.objects.create(organization=other_organization, external_id="theirs")
    stored = make_photo_row(customer, f"enterprise/org-{other_organization.id}/photos/p2.jpg")

    assert photo_for_key(organization_id=organization.id, storage_key=stored.storage_key) is None
    assert photo_for_key(organization_id=organization.id, storage_key="no/such/key.jpg") is None
