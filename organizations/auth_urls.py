from django.urls import path

from organizations.auth_views import RefreshTokenView, TokenView
from organizations.signup_views import SignupVerifyView, SignupView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="token"),
    path("auth/token/refresh", RefreshTokenView.as_view(), name="token-refresh"),
    path("auth/signup", SignupView.as_view(), name="signup"),
    path("auth/signup/verify", SignupVerifyView.as_view(), name="signup-verify"),
]
