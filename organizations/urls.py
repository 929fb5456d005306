from django.urls import path
from rest_framework.routers import SimpleRouter

from organizations.team_views import InvitationAcceptView, InvitationViewSet, MemberViewSet
from organizations.views import ChangelogView, OrganizationViewSet

router = SimpleRouter(trailing_slash=False)
router.register("organizations", OrganizationViewSet, basename="organization")

TEAM = "organizations/<str:organization_id>"
urlpatterns = [
    path("docs/changelog", ChangelogView.as_view(), name="docs-changelog"),
    *router.urls,
    path(f"{TEAM}/members", MemberViewSet.as_view({"get": "list", "post": "create"}), name="members"),
    path(f"{TEAM}/members/events", MemberViewSet.as_view({"get": "events"}), name="member-events"),
    path(
        f"{TEAM}/members/<str:user_id>",
        MemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="member",
    ),
    path(
        f"{TEAM}/invitations",
        InvitationViewSet.as_view({"get": "list", "post": "create"}),
        name="invitations",
    ),
    path(
        f"{TEAM}/invitations/<str:invitation_id>/revoke",
        InvitationViewSet.as_view({"post": "revoke"}),
        name="invitation-revoke",
    ),
    path("invitations/<str:token>/accept", InvitationAcceptView.as_view(), name="invitation-accept"),
]
