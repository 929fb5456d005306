import re
import uuid

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.middleware import csrf as csrf_middleware

from api.request_context import REQUEST_ID_MAX_LENGTH, clear_principal, reset_request_id, set_request_id
from api.versions import version_refusal, version_stamp

# Accept a caller's id only if it is short and harmless to echo into logs and headers.
_SANE_REQUEST_ID = re.compile(rf"^[A-Za-z0-9._:\-]{{8,{REQUEST_ID_MAX_LENGTH}}}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's, if sane) and returns it as `X-Request-Id`; every /api
    response also names the API version that answered it (`Garmax-Version`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            # An unknown Garmax-Version is refused before anything runs (api/versions.py).
            response = version_refusal(request) or self.get_response(request)
        finally:
            reset_request_id(token)
            clear_principal()  # a worker thread's next request must not inherit this caller
        response["X-Request-Id"] = request_id
        version_stamp(request, response)
        return response


class RejectNulCharactersMiddleware:
    """A NUL character in the path or query is never meaningful and PostgreSQL cannot store or compare
    it: answer 400 here instead of letting it reach a query as a 500. (Request bodies are covered by DRF's
    CharField validation.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            from api.errors import json_error

            return json_error(request, "ValidationError", "The URL must not contain NUL characters.", 400)
        return self.get_response(request)


# --- Browser-only middleware -------------------------------------------------------------------------
# Sessions, CSRF, the session user and messages serve the admin's browser sessions. Partner requests
# (`/api/v1/`, X-API-Key, no cookies) never use them, yet each would build a session store, a message
# store and a CSRF check per request: ~70 µs of CPU, ~7 % of a partner read (bench/README.md). These
# subclasses (subclasses, so the admin's system checks still find them) pass partner requests straight on.

PARTNER_API_PREFIX = "/api/v1/"


def _is_partner_api(request) -> bool:
    return request.path_info.startswith(PARTNER_API_PREFIX)


class _SkippedForPartnerApi:
    def __call__(self, request):
        if _is_partner_api(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedForPartnerApi, sessions_middleware.SessionMiddleware):
    pass


class CsrfViewMiddleware(_SkippedForPartnerApi, csrf_middleware.CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if _is_partner_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(_SkippedForPartnerApi, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedForPartnerApi, messages_middleware.MessageMiddleware):
    pass
