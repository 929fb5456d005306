from django.urls import path

from customers.bulk.views import CustomerExportViewSet, CustomerImportViewSet
from customers.views import CustomerPhotoViewSet, CustomerViewSet

# `str` matches anything but '/', so externalIds such as "jane.doe@example.com" route unchanged.
urlpatterns = [
    path("v1/customers", CustomerViewSet.as_view({"get": "list", "post": "create"}), name="customers"),
    # Before the externalId routes: "imports" and "exports" are reserved externalIds (serializers.py).
    path(
        "v1/customers/imports",
        CustomerImportViewSet.as_view({"get": "list", "post": "create"}),
        name="customer-imports",
    ),
    path(
        "v1/customers/imports/<str:id>",
        CustomerImportViewSet.as_view({"get": "retrieve"}),
        name="customer-import",
    ),
    path(
        "v1/customers/imports/<str:id>/errors",
        CustomerImportViewSet.as_view({"get": "errors"}),
        name="customer-import-errors",
    ),
    path(
        "v1/customers/exports",
        CustomerExportViewSet.as_view({"get": "list", "post": "create"}),
        name="customer-exports",
    ),
    path(
        "v1/customers/exports/<str:id>",
        CustomerExportViewSet.as_view({"get": "retrieve"}),
        name="customer-export",
    ),
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
