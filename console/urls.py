from django.contrib import admin
from django.urls import path

from console import views

app_name = "console"

# Inside admin_view: staff login, the admin's session checks and no caching, as for every admin page.
urlpatterns = [
    path("billing/", admin.site.admin_view(views.billing_dashboard), name="billing"),
    path(
        "organizations/<str:organization_id>/",
        admin.site.admin_view(views.organization_overview),
        name="organization",
    ),
    path("search/", admin.site.admin_view(views.search_view), name="search"),
]
