"""Reads other apps rely on; kept here so their queries stay tenant-scoped in one place."""

from django.db.models import F, OuterRef, QuerySet, Subquery

from api.errors import ResourceNotFound
from customers.models import Customer, CustomerExport, CustomerImport, Photo
from infrastructure.prepared import PreparedQuery

# Every try-on create looks its photo up: compiled once per process (infrastructure/prepared.py), with the
# customer's externalId that the create's answer carries.
_photo_for_key_query = PreparedQuery(
    Photo,
    lambda organization_id, storage_key: (
        Photo.objects.filter(organization_id=organization_id, storage_key=storage_key)
        .annotate(customer_external_id=F("customer__external_id"))
        .order_by()[:1]
    ),
)


def photo_for_key(*, organization_id: str, storage_key: str) -> Photo | None:
    """The organization's photo stored at `storage_key`, or None (another organization's key is None too).

    `photo.customer` comes loaded with its id, organization and externalId (as `.only()` would load it;
    any other field is read on first use).
    """
    photo = _photo_for_key_query.first(organization_id=organization_id, storage_key=storage_key)
    if photo is not None:
        photo.customer = Customer.from_db(
            photo._state.db,
            ["id", "organization_id", "external_id"],
            [photo.customer_id, photo.organization_id, photo.customer_external_id],
        )
    return photo


def with_latest_photo_key(customers: QuerySet) -> QuerySet:
    """`customers` annotated with `latest_photo_key`, in the same query: `photoUrl` is on every customer
    response, and the admin lists a thumbnail of it."""
    latest = (
        Photo.objects.filter(customer=OuterRef("pk"))
        .order_by("-uploaded_at", "-id")
        .values("storage_key")[:1]
    )
    return customers.annotate(latest_photo_key=Subquery(latest))


def customer_list(*, organization_id: str) -> QuerySet:
    """The organization's customers, newest first, each annotated with `latest_photo_key`."""
    return with_latest_photo_key(Customer.objects.filter(organization_id=organization_id)).order_by(
        "-created_at", "-id"
    )


# The hottest partner read: compiled once per process (infrastructure/prepared.py says why).
_customer_detail_query = PreparedQuery(
    Customer,
    lambda organization_id, external_id: with_latest_photo_key(
        Customer.objects.filter(organization_id=organization_id, external_id=external_id)
    )[:1],
)


def customer_detail(*, organization_id: str, external_id: str) -> Customer:
    """One customer annotated with `latest_photo_key`; another organization's externalId is a 404."""
    customer = _customer_detail_query.first(organization_id=organization_id, external_id=external_id)
    if customer is None:
        raise ResourceNotFound(f"Customer {external_id} not found.", details={"externalId": external_id})
    return customer


def organization_imports(*, organization_id: str, resource: str = "customers") -> QuerySet:
    """The organization's import jobs of `resource`, newest first (the id breaks ties within a second)."""
    jobs = CustomerImport.objects.filter(organization_id=organization_id, resource=resource)
    return jobs.order_by("-created_at", "-id")


def organization_exports(*, organization_id: str, resource: str = "customers") -> QuerySet:
    """The organization's export jobs of `resource`, newest first (the id breaks ties within a second)."""
    jobs = CustomerExport.objects.filter(organization_id=organization_id, resource=resource)
    return jobs.order_by("-created_at", "-id")


def customer_photos(*, customer: Customer) -> QuerySet:
    """The customer's photos, newest first (the id breaks ties within a second)."""
    return customer.photos.order_by("-uploaded_at", "-id")
