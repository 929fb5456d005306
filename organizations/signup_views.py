"""Signup without our staff: `POST /api/auth/signup` and `POST /api/auth/signup/verify` (README, "Signup").

What they do depends on PARTNER_SIGNUP: `closed` answers both with 404 (the feature is off, as the render
callback is without its renderer) and changes nothing; `invite` takes only an invitation's token; `open`
also takes an email to verify. Requests are limited per client address and per email domain
(organizations.signup_limits), after the body is found valid, so a malformed request costs no one a turn.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.client_address import client_address
from api.schema import ErrorSerializer
from organizations.services import signup
from organizations.signup_serializers import (
    SignupAcceptedSerializer,
    SignupCreatedSerializer,
    SignupSerializer,
    SignupVerifySerializer,
)

ACCEPTED_MESSAGE = (
    "If this email can receive mail, a verification link is on its way: it works once, within 24 hours."
)


def _error(name: str, code: int, message: str, details: dict | None = None) -> OpenApiExample:
    body = {"error": name, "message": message, "code": code, "details": details or {}}
    return OpenApiExample(name, value=body, response_only=True, status_codes=[str(code)])


CLOSED_MESSAGE = signup.CLOSED_MESSAGE
CLOSED = OpenApiResponse(
    ErrorSerializer,
    description="ResourceNotFound: signup is closed on this service (PARTNER_SIGNUP=closed; the verify "
    "endpoint also in `invite` mode), or the token is unknown, expired or used.",
    examples=[_error("ResourceNotFound", 404, CLOSED_MESSAGE)],
)
RATE_LIMITED = OpenApiResponse(
    ErrorSerializer,
    description="RateLimitExceeded: too many signup requests this hour from this address or for this "
    "email domain (`details.limitedBy`); retry after Retry-After seconds.",
    examples=[
        _error(
            "RateLimitExceeded",
            429,
            "Too many signup requests from this domain: at most 20 an hour. Try again later.",
            {"limitedBy": "domain", "limit": 20, "retryAfter": 1800},
        )
    ],
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="Conflict: the email got an account since the link was sent (the token stays unused).",
    examples=[
        _error(
            "Conflict",
            409,
            "This email already has an account: sign in, then create an organization with POST "
            "/api/organizations.",
            {"email": "dev@shop.example"},
        )
    ],
)
CREATED_EXAMPLE = OpenApiExample(
    "Created",
    value={
        "userId": 42,
        "username": "dev@shop.example",
        "email": "dev@shop.example",
        "organizationId": "org_abc123",
        "organizationName": "Shop Example",
        "credits": 100,
    },
    response_only=True,
    status_codes=["201"],
)


class SignupView(APIView):
    """No account yet: the email (verified later) or an invitation's token is the only credential."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["Authentication"],
        summary="Sign up: a new account and organization (PARTNER_SIGNUP open or invite)",
        description="`open`: send `email`, `password`, `organizationName`; the answer is 202 at once, and "
        "the email gets a single-use verification token (24 hours) for POST /api/auth/signup/verify. An "
        "email that already has an account gets the same 202, and an email saying so. `invite`: send an "
        "invitation's `token` (from the email staff sent), `password`, `organizationName`: the account "
        "and organization are created at once (201). Passwords follow Django's password rules.",
        request=SignupSerializer,
        examples=[
            OpenApiExample(
                "Open signup",
                value={
                    "email": "dev@shop.example",
                    "password": "a long passphrase",
                    "organizationName": "Shop Example",
                },  # fmt: skip
                request_only=True,
            ),
            OpenApiExample(
                "With an invitation",
                value={"token": "Vq0…", "password": "a long passphrase", "organizationName": "Shop Example"},
                request_only=True,
            ),
            OpenApiExample(
                "Verification sent",
                value={
                    "email": "dev@shop.example",
                    "status": "verification_sent",
                    "message": ACCEPTED_MESSAGE,
                },
                response_only=True,
                status_codes=["202"],
            ),
            CREATED_EXAMPLE,
        ],
        responses={
            202: SignupAcceptedSerializer,
            201: SignupCreatedSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="Forbidden: signup is by invitation (PARTNER_SIGNUP=invite): send a `token`.",
                examples=[
                    _error(
                        "Forbidden",
                        403,
                        signup.INVITE_ONLY_MESSAGE,
                        {"signup": "invite"},
                    )
                ],
            ),
            404: CLOSED,
            409: CONFLICT,
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        if settings.PARTNER_SIGNUP == "closed":  # before reading the body, as for any missing route
            raise signup.signup_closed()
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = signup.signup_submit(
            address=client_address(request),
            password=data["password"],
            organization_name=data["organizationName"],
            email=data.get("email"),
            token=data.get("token"),
        )
        if isinstance(result, str):
            body = {"email": result, "status": "verification_sent", "message": ACCEPTED_MESSAGE}
            return Response(SignupAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
        return Response(SignupCreatedSerializer(result).data, status=status.HTTP_201_CREATED)


class SignupVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["Authentication"],
        summary="Verify a signup's email: creates the account and organization (PARTNER_SIGNUP=open)",
        description="The token from the verification email, once: creates the user (username = email, the "
        "password chosen at signup) and the organization, owned by them, with the signup credit grant. "
        "Unknown, expired and used tokens get one answer (404). Then sign in with POST /api/auth/token.",
        request=SignupVerifySerializer,
        examples=[OpenApiExample("Verify", value={"token": "Vq0…"}, request_only=True), CREATED_EXAMPLE],
        responses={201: SignupCreatedSerializer, 404: CLOSED, 409: CONFLICT},
    )
    def post(self, request):
        if settings.PARTNER_SIGNUP != "open":
            raise signup.signup_closed()
        serializer = SignupVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = signup.signup_verify_submit(token=serializer.validated_data["token"])
        return Response(SignupCreatedSerializer(result).data, status=status.HTTP_201_CREATED)
