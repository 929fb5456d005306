from django.urls import path

from api.docs_views import undocumented
from apikeys.views import AccountViewSet, ApiKeyViewSet, ScopeCatalogueView

urlpatterns = [
    path("v1/account", AccountViewSet.as_view({"get": "retrieve"}), name="account"),
    path("v1/account/ledger", AccountViewSet.as_view({"get": "ledger"}), name="account-ledger"),
    path("v1/status/rate-limits", AccountViewSet.as_view({"get": "rate_limits"}), name="status-rate-limits"),
    path("docs/scopes", ScopeCatalogueView.as_view(), name="docs-scopes"),
    # seed 003's path for the same catalogue (documented once, at docs/scopes)
    path("v1/docs/scopes", undocumented(ScopeCatalogueView).as_view(), name="v1-docs-scopes"),
    path(
        "organizations/<str:organization_id>/api-keys",
        ApiKeyViewSet.as_view({"get": "list", "post": "create"}),
        name="organization-api-keys",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>",
        ApiKeyViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="organization-api-key-detail",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>/roll",
        ApiKeyViewSet.as_view({"post": "roll"}),
        name="organization-api-key-roll",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>/events",
        ApiKeyViewSet.as_view({"get": "events"}),
        name="organization-api-key-events",
    ),
]
