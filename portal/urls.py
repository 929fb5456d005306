from pathlib import Path

from django.urls import path
from django.views.static import serve

from portal import sign_in
from portal.pages import (
    catalogues,
    credits,
    customers,
    keys,
    logs,
    overview,
    security,
    signup,
    team,
    usage,
    webhooks,
)

app_name = "portal"

ASSETS = Path(__file__).resolve().parent / "assets"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("mode", overview.switch_mode, name="switch-mode"),
    path("organization", overview.switch_organization, name="switch-organization"),
    # Our stylesheet and script, served by Django so that gunicorn alone serves the portal whole.
    path("assets/<path:path>", serve, {"document_root": ASSETS}, name="asset"),
    path("login/", sign_in.SignInView.as_view(), name="login"),
    path("login/code/", sign_in.code_view, name="login-code"),
    path("logout/", sign_in.SignOutView.as_view(), name="logout"),
    path("password-reset/", sign_in.ResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", sign_in.ResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/", sign_in.ResetConfirmView.as_view(), name="password-reset-confirm"
    ),
    path("password-reset/done/", sign_in.ResetCompleteView.as_view(), name="password-reset-complete"),
    path("security/", security.security, name="security"),
    path("team/", team.team_page, name="team"),
    path("team/invite", team.invite, name="invite"),
    path("team/invitations/<str:invitation_id>/revoke", team.invitation_revoke, name="invitation-revoke"),
    path("team/members/<str:user_id>/role", team.member_role, name="member-role"),
    path("team/members/<str:user_id>/remove", team.member_remove, name="member-remove"),
    path("invitations/<str:token>/", team.invitation_accept, name="invitation"),
    path("signup/", signup.signup_page, name="signup"),
    path("signup/verify/<str:token>/", signup.verify_page, name="signup-verify"),
    path("signup/invitation/<str:token>/", signup.invitation_page, name="signup-invitation"),
    *keys.urlpatterns,
    *webhooks.urlpatterns,
    *logs.urlpatterns,
    *usage.urlpatterns,
    *credits.urlpatterns,
    *customers.urlpatterns,
    *catalogues.urlpatterns,
]
