from django.urls import path

from organizations.auth_views import RefreshTokenView, TokenView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="token"),
    path("auth/token/refresh", RefreshTokenView.as_view(), name="token-refresh"),
]
