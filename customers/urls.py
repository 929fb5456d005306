from django.urls import path

from customers.bulk.urls import bulk_job_urls
from customers.bulk.views import CustomerExportViewSet, CustomerImportViewSet
from customers.views import CustomerPhotoViewSet, CustomerViewSet

# `str` matches anything but '/', so externalIds such as "jane.doe@example.com" route unchanged.
urlpatterns = [
    path("v1/customers", CustomerViewSet.as_view({"get": "list", "post": "create"}), name="customers"),
    # Before the externalId routes: "imports" and "exports" are reserved externalIds (serializers.py).
    *bulk_job_urls("v1/customers", "customer", CustomerImportViewSet, CustomerExportViewSet),
    path(
        "v1/customers/<str:externalId>",
        CustomerViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="customer-detail",
    ),
    path(
        "v1/customers/<str:externalId>/photos",
        CustomerPhotoViewSet.as_view({"get": "list", "post": "create"}),
        name="customer-photos",
    ),
]
