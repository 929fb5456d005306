"""CustomerSerializer writes its representation out by hand; it must say what its declared fields say."""

import pytest
from rest_framework import serializers

from customers.selectors import customer_detail
from customers.serializers import CustomerSerializer
from customers.services import customer_upsert
from tests.factories import make_photo_row

pytestmark = pytest.mark.django_db


class _FieldByField(CustomerSerializer):
    """The same declared fields, serialized by DRF's generic walk over them."""

    def to_representation(self, customer):
        data = serializers.Serializer.to_representation(self, customer)
        data["email"] = data["email"] or None
        return data


@pytest.mark.parametrize("email", ["ada@example.com", ""])
@pytest.mark.parametrize("with_photo", [True, False])
def test_the_written_out_representation_matches_the_declared_fields(organization, email, with_photo):
    customer, _ = customer_upsert(
        organization_id=organization.id,
        external_id="ada",
        email=email,
        name="Ada",
        metadata={"tier": "gold"},
    )
    if with_photo:
        make_photo_row(customer, f"enterprise/org-{organization.id}/photos/p.jpg", customer.created_at)
    for instance in (customer, customer_detail(organization_id=organization.id, external_id="ada")):
        written_out = CustomerSerializer(instance).data

        assert written_out == _FieldByField(instance).data
        assert list(written_out) == list(CustomerSerializer().fields)
        assert (written_out["photoUrl"] is not None) is with_photo
        assert written_out["email"] == (email or None)


def test_lists_use_the_written_out_representation_too(organization):
    for external_id in ("a", "b"):
        customer_upsert(organization_id=organization.id, external_id=external_id)
    customers = [customer_detail(organization_id=organization.id, external_id=e) for e in ("a", "b")]

    assert CustomerSerializer(customers, many=True).data == [_FieldByField(c).data for c in customers]
