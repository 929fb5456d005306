from django.urls import path

from infrastructure import health, storage
from infrastructure.observability.views import metrics_view

urlpatterns = [
    path("health", health.live, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("media/signed/<path:name>", storage.serve_signed, name="signed-media"),
]
