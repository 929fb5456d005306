"""JWT for staff and organization members: `POST /api/auth/token` and `/api/auth/token/refresh`, and the
staff admin's login form, which shares the token endpoint's failed sign-in limits.

Sign-ins are limited on failures only, per username and per client address (organizations.login_attempts):
a correct password is never refused for somebody else's failures on the same address, but a username under
attack is locked for a while (429, saying so). When Redis is unreachable the token endpoint answers 503,
like partner authentication: a limit no process can count would leave passwords open to guessing.

The refresh endpoint has no limit: a refresh token is an HMAC-signed JWT that cannot be guessed, and
checking one costs microseconds, so counting would only refuse legitimate clients behind one address.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from api.client_address import client_address
from api.errors import RateLimitExceeded, Unauthorized
from api.schema import ErrorSerializer
from organizations import login_attempts


def _refuse_if_locked(username: str) -> None:
    remaining = login_attempts.login_lock_remaining(username=username)
    if remaining:
        raise RateLimitExceeded(
            login_attempts.locked_message(remaining),
            details={"retryAfter": remaining},
            headers={"Retry-After": str(remaining)},
        )


def _refusal(name: str, message: str, details: dict) -> OpenApiExample:
    body = {"error": name, "message": message, "code": 401, "details": details}
    return OpenApiExample(name, value=body, response_only=True, status_codes=["401"])


SIGN_IN_REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="Unauthorized: no active account has this username and password (failures are counted; "
    "see 429).",
    examples=[_refusal("Unauthorized", "No active account found with the given credentials", {})],
)
REFRESH_REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="InvalidToken: the refresh token is invalid or has expired (`details.reason`: `invalid` or "
    "`expired`); sign in again. Unauthorized: the token's user no longer exists or cannot sign in.",
    examples=[
        _refusal(
            "InvalidToken",
            "The refresh token has expired. Sign in again with POST /api/auth/token.",
            {"token": "refresh", "reason": "expired"},
        )
    ],
)


@extend_schema(
    tags=["Authentication"],
    summary="Obtain a JWT pair (username and password)",
    responses={200: TokenObtainPairSerializer, 401: SIGN_IN_REFUSED},
)
class TokenView(TokenObtainPairView):
    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username:
            return super().post(request, *args, **kwargs)  # the serializer answers 400 for the field
        _refuse_if_locked(username)
        try:
            with login_attempts.password_check_turn(address=client_address(request)):
                response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            login_attempts.login_failure_record(username=username, address=client_address(request))
            raise
        login_attempts.login_success_record(username=username)
        return response


class _RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            # simplejwt looks the user up and lets DoesNotExist escape (a 500) when it was deleted.
            raise Unauthorized("The user of this token no longer exists.") from None


class _RefreshedSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        required=False, help_text="Only when refresh tokens rotate (SIMPLE_JWT ROTATE_REFRESH_TOKENS)."
    )


# simplejwt's own serializer documents `refresh` as always answered; without rotation it never is.
@extend_schema(
    tags=["Authentication"],
    summary="Refresh an access token",
    request=_RefreshSerializer,
    responses={200: _RefreshedSerializer, 401: REFRESH_REFUSED},
)
class RefreshTokenView(TokenRefreshView):
    serializer_class = _RefreshSerializer


class FailureLimitedSignIn:
    """A Django sign-in form's checks, limited on failed sign-ins like the token endpoint (mixed in first)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username:
            return super().clean()
        remaining = login_attempts.login_lock_remaining(username=username)
        if remaining:
            raise DjangoValidationError(login_attempts.locked_message(remaining), code="locked")
        try:
            with login_attempts.password_check_turn(address=client_address(self.request)):
                cleaned = super().clean()
        except RateLimitExceeded:
            raise DjangoValidationError(login_attempts.BUSY_MESSAGE, code="busy") from None
        except DjangoValidationError:
            login_attempts.login_failure_record(username=username, address=client_address(self.request))
            raise
        login_attempts.login_success_record(username=username)
        return cleaned


class StaffLoginForm(FailureLimitedSignIn, AdminAuthenticationForm):
    """The admin login form."""
