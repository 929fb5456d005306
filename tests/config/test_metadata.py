import pytest
from rest_framework import serializers

from api.metadata import METADATA_MAX_BYTES, metadata_validate


@pytest.mark.parametrize(
    "value",
    [
        [],
        "text",
        {f"k{i}": i for i in range(51)},
        {"big": "x" * METADATA_MAX_BYTES},
        {"\x00key": 1},
        {"nested": {"list": ["ok", "bad\x00"]}},
    ],
)
def test_metadata_outside_the_rules_is_a_field_error(value):
    with pytest.raises(serializers.ValidationError):
        metadata_validate(value)


def test_metadata_within_the_rules_is_kept_as_is():
    value = {"orderId": "order_789", "nested": {"list": [1, 2.5, None, True]}}
    assert metadata_validate(value) is value


@pytest.mark.django_db
def test_customer_metadata_with_a_nul_character_is_a_400_not_a_500(organization, partner_client):
    response = partner_client(organization).post(
        "/api/v1/customers",
        {"externalId": "c1", "metadata": {"\u0000\u00f7": {}}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["details"]["metadata"]
