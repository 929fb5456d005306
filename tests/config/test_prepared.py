"""infrastructure.prepared: hot reads compiled once, giving what the ORM gives, with values only ever
bound."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, Photo
from customers.selectors import customer_detail, with_latest_photo_key
from customers.services import customer_upsert
from infrastructure.prepared import PreparedQuery
from tests.factories import make_photo_row

pytestmark = pytest.mark.django_db


def _fields(instance):
    return {name: value for name, value in vars(instance).items() if name != "_state"}


def _orm(organization_id, external_id):
    return with_latest_photo_key(
        Customer.objects.filter(organization_id=organization_id, external_id=external_id)
    ).first()


def test_customer_detail_returns_what_the_orm_returns_annotation_included(organization):
    customer, _ = customer_upsert(
        organization_id=organization.id,
        external_id="shopper-1",
        email="",
        name="Ada",
        metadata={"tier": "gold", "sizes": [38, 40]},
    )
    now = timezone.now()
    make_photo_row(customer, "older.jpg", now - timedelta(days=1))
    make_photo_row(customer, "latest.jpg", now)

    prepared = customer_detail(organization_id=organization.id, external_id="shopper-1")

    assert _fields(prepared) == _fields(_orm(organization.id, "shopper-1"))
    assert prepared.latest_photo_key == "latest.jpg"
    assert prepared.metadata == {"tier": "gold", "sizes": [38, 40]}  # jsonb converted as the ORM does
    assert prepared.created_at.tzinfo is not None
    assert prepared._state.adding is False and prepared._state.db == "default"


def test_a_customer_without_photos_has_a_null_latest_photo_key(organization):
    customer_upsert(organization_id=organization.id, external_id="no-photo")
    assert customer_detail(organization_id=organization.id, external_id="no-photo").latest_photo_key is None


def test_values_are_bound_not_spliced_and_stay_in_their_organization(organization, other_organization):
    tricky = "o'brien\\%_;--\"x"
    customer_upsert(organization_id=organization.id, external_id=tricky)
    customer_upsert(organization_id=other_organization.id, external_id="theirs")

    assert customer_detail(organization_id=organization.id, external_id=tricky).external_id == tricky
    query = PreparedQuery(
        Customer,
        lambda organization_id, external_id: Customer.objects.filter(
            organization_id=organization_id, external_id=external_id
        )[:1],
    )
    assert query.first(organization_id=organization.id, external_id="theirs") is None
    assert query.first(organization_id=organization.id, external_id="o'brien%") is None  # no LIKE
    assert query.first(organization_id=other_organization.id, external_id="theirs").external_id == "theirs"


def test_each_call_is_one_query_that_django_records(organization):
    customer_upsert(organization_id=organization.id, external_id="counted")
    customer_detail(organization_id=organization.id, external_id="counted")  # compiled on first use

    with CaptureQueriesContext(connection) as queries:
        customer_detail(organization_id=organization.id, external_id="counted")

    assert len(queries.captured_queries) == 1
    assert "customers_photo" in queries.captured_queries[0]["sql"]


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda external_id: Customer.objects.filter(external_id__icontains=external_id), "whole parameter"),
        (
            lambda external_id: Customer.objects.select_related("organization").filter(
                external_id=external_id
            ),
            "select_related",
        ),
        (lambda external_id: Customer.objects.filter(external_id=external_id).values("id"), "instances"),
        (lambda external_id: Photo.objects.filter(storage_key=external_id), "instances"),
    ],
    ids=["transformed value", "select_related", "values", "another model"],
)
def test_shapes_that_cannot_be_prepared_are_refused(build, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        PreparedQuery(Customer, build).first(external_id="x")


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_hot_read_is_a_prepared_statement_and_django_queries_are_not(organization):
    connection.close()  # a new session: nothing prepared in it yet
    customer_upsert(organization_id=organization.id, external_id="prepared")
    for _ in range(6):  # more than psycopg's threshold, which must not apply to Django's own cursors
        list(Customer.objects.filter(organization_id=organization.id))
        customer_detail(organization_id=organization.id, external_id="prepared")

    statements = _prepared_statements()

    assert len(statements) == 1, statements
    assert "customers_photo" in statements[0] and "$1" in statements[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_can_be_turned_off_for_poolers(settings, organization):
    settings.DB_PREPARED_STATEMENTS = False
    connection.close()
    customer_upsert(organization_id=organization.id, external_id="unprepared")
    for _ in range(6):
        assert customer_detail(organization_id=organization.id, external_id="unprepared") is not None
    assert _prepared_statements() == []
