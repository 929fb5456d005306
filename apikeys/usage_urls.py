from django.urls import path

from apikeys.usage_views import OrganizationUsageViewSet

urlpatterns = [
    path(
        "organizations/<str:organization_id>/usage",
        OrganizationUsageViewSet.as_view({"get": "usage"}),
        name="organization-usage",
    ),
    path(
        "organizations/<str:organization_id>/logs/requests",
        OrganizationUsageViewSet.as_view({"get": "logs"}),
        name="organization-request-logs",
    ),
    path(
        "organizations/<str:organization_id>/logs/requests/<str:request_id>",
        OrganizationUsageViewSet.as_view({"get": "log_entry"}),
        name="organization-request-log-entry",
    ),
]
