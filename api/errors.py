"""The one error path: services raise `ApiError`s, one handler renders every error in seed 001's format.

{"error": "InsufficientCredits", "message": "...", "code": 403, "details": {...}}
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from api.request_context import current_request_id

logger = logging.getLogger("garmax.errors")


class ApiError(drf.APIException):
    """An error a partner can act on. Subclasses fix the name and status; details carry the specifics."""

    name = "ApiError"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(
        self, message: str | None = None, *, details: dict | None = None, headers: dict | None = None
    ):
        self.message = message or self.default_message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(detail=self.message)


class InvalidApiKey(ApiError):
    name, status_code = "InvalidApiKey", 401
    default_message = "API key is missing, invalid, revoked or expired."


class Unauthorized(ApiError):
    name, status_code = "Unauthorized", 401
    default_message = "Authentication credentials were not provided or are invalid."


class InvalidToken(ApiError):
    name, status_code = "InvalidToken", 401
    default_message = "The token is invalid or has expired."


class InvalidScope(ApiError):
    name, status_code = "InvalidScope", 403
    default_message = "API key does not have the scope this operation needs."


class Forbidden(ApiError):
    name, status_code = "Forbidden", 403
    default_message = "You do not have permission to perform this action."


class InsufficientCredits(ApiError):
    name, status_code = "InsufficientCredits", 403
    default_message = "Organization has insufficient credits."


class ResourceNotFound(ApiError):
    name, status_code = "ResourceNotFound", 404
    default_message = "Requested resource doesn't exist."


class ValidationError(ApiError):
    name, status_code = "ValidationError", 400
    default_message = "Request data is invalid. Check details for specific fields."


class Conflict(ApiError):
    name, status_code = "Conflict", 409
    default_message = "The request conflicts with the current state of the resource."


class IdempotencyKeyReused(ApiError):
    name, status_code = "IdempotencyKeyReused", 422
    default_message = "This Idempotency-Key was already used with a different request."


class PayloadTooLarge(ApiError):
    name, status_code = "PayloadTooLarge", 413
    default_message = "The request body is too large."


class RateLimitExceeded(ApiError):
    name, status_code = "RateLimitExceeded", 429
    default_message = "Too many requests. Wait for the rate limit to reset."


class ServiceUnavailable(ApiError):
    name, status_code = "ServiceUnavailable", 503
    default_message = "The service is temporarily unavailable. Retry shortly."


# DRF's own exceptions, renamed into the seed's vocabulary.
_DRF_NAMES = {
    drf.ParseError: ("ValidationError", "Malformed request body."),
    drf.AuthenticationFailed: ("Unauthorized", None),
    drf.NotAuthenticated: ("Unauthorized", None),
    drf.PermissionDenied: ("Forbidden", None),
    drf.NotFound: ("ResourceNotFound", "Requested resource doesn't exist."),
    drf.MethodNotAllowed: ("MethodNotAllowed", None),
    drf.NotAcceptable: ("NotAcceptable", None),
    drf.UnsupportedMediaType: ("UnsupportedMediaType", None),
    drf.Throttled: ("RateLimitExceeded", None),
}


def error_body(name: str, message: str, code: int, details: dict | None = None) -> dict:
    body = {"error": name, "message": message, "code": code, "details": details or {}}
    request_id = current_request_id()
    if request_id:
        body["requestId"] = request_id
    return body


def _validation_details(detail) -> dict:
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {"nonFieldErrors": _flatten(detail)}


def _flatten(messages):
    if isinstance(messages, dict):
        return {str(key): _flatten(value) for key, value in messages.items()}
    if isinstance(messages, list):
        if all(not isinstance(m, (dict, list)) for m in messages):
            return [str(m) for m in messages]
        return [_flatten(m) for m in messages]
    return [str(messages)]


class ShortCircuit(drf.APIException):
    """Raised to answer a request with a ready response instead of an error (e.g. an idempotent replay)."""

    def response(self) -> Response:
        raise NotImplementedError


def _token_refusal(exc: drf.AuthenticationFailed) -> ApiError:
    """simplejwt's refusals carry a dict detail, whose repr is no message for a partner: say it in a sentence.

    A token from the Authorization header (an access token) is refused with the messages of each token class
    it was tried as; one posted to the refresh endpoint with a bare detail.
    """
    detail = exc.detail
    code = str(detail.get("code", ""))
    if code != "token_not_valid":
        # The token was sound but its user cannot sign in (deleted, inactive, password changed).
        text = str(detail.get("detail", "")).rstrip(".") or "Authentication failed"
        return Unauthorized(f"{text}.")
    texts = [str(detail.get("detail", ""))] + [str(m.get("message", "")) for m in detail.get("messages", [])]
    reason = "expired" if any("expired" in text.lower() for text in texts) else "invalid"
    if "messages" in detail:
        token, remedy = "access", "Get a new one from POST /api/auth/token/refresh, or sign in again."
    else:
        token, remedy = "refresh", "Sign in again with POST /api/auth/token."
    state = "has expired" if reason == "expired" else "is invalid"
    return InvalidToken(f"The {token} token {state}. {remedy}", details={"token": token, "reason": reason})


def _credential_authenticator(view):
    """The authentication class of `view` that names its own credential error, if any.

    An attribute protocol, not an import, so config knows no app: a class that sets `credential_error`
    (apikeys' ApiKeyAuthentication: "InvalidApiKey") and `header` turns a missing or refused credential
    into that error, "Missing <header> header." when there was none.
    """
    classes = getattr(view, "authentication_classes", ())
    return next((cls for cls in classes if getattr(cls, "credential_error", None)), None)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error, expected or not, leaves in the seed's format."""
    view = context.get("view")
    headers = {}

    if isinstance(exc, ShortCircuit):
        return exc.response()

    if isinstance(exc, Http404):
        exc = ResourceNotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = Forbidden()
    elif isinstance(exc, RequestDataTooBig):
        exc = _payload_too_large()
    elif isinstance(exc, drf.AuthenticationFailed) and isinstance(exc.detail, dict):
        exc = _token_refusal(exc)

    if isinstance(exc, ApiError):
        name, message, code, details = exc.name, exc.message, exc.status_code, exc.details
        headers.update(exc.headers)
    elif isinstance(exc, drf.ValidationError):
        name, code = "ValidationError", 400
        message = ValidationError.default_message
        details = _validation_details(exc.detail)
    elif isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)) and (
        authenticator := _credential_authenticator(view)
    ):
        name, code, details = authenticator.credential_error, 401, {}
        missing = f"Missing {authenticator.header} header."
        message = missing if isinstance(exc, drf.NotAuthenticated) else str(exc.detail)
    elif isinstance(exc, drf.APIException):
        name, default_message = next(
            (value for cls, value in _DRF_NAMES.items() if isinstance(exc, cls)),
            (type(exc).__name__, None),
        )
        message = default_message or str(exc.detail)
        code, details = exc.status_code, {}
        if isinstance(exc, drf.ParseError):
            details = {"body": [str(exc.detail)]}
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
            details = {"retryAfter": int(exc.wait) + 1}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    else:
        response = Response(error_body(*INTERNAL_ERROR, 500), status=500)
        request = context.get("request")
        _log_internal_error(request, exc)
        # Logged here once, with the route: Django's own "Internal Server Error: <path>" line is not wanted.
        response._has_been_logged = True
        return response

    return Response(error_body(name, message, code, details), status=code, headers=headers)


INTERNAL_ERROR = ("InternalError", "An unexpected error occurred. Retry later.")


def _log_internal_error(request, exc: BaseException) -> None:
    """One line per 500: the request id (the record carries it), method and route template, and the
    (scrubbed) traceback; never the path or query, which carry partners' ids and customers' data."""
    from api.routes import request_route

    route = request_route(request) if request is not None else "unmatched"
    method = getattr(request, "method", "-")
    logger.error(
        "Unhandled error answered 500 on %s %s",
        method,
        route,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"route": route, "method": method, "status": 500},
    )


def json_error(request, name: str, message: str, code: int) -> JsonResponse:
    return JsonResponse(error_body(name, message, code), status=code)


def method_not_allowed(request, allowed: tuple[str, ...] = ("GET", "HEAD")) -> JsonResponse:
    response = json_error(request, "MethodNotAllowed", f'Method "{request.method}" not allowed.', 405)
    response["Allow"] = ", ".join(allowed)
    return response


# The staff console's and the partner portal's pages are HTML; every other answer of this service is JSON in
# the error format.
HTML_PREFIXES = ("/admin/", "/portal/")


def _is_admin_page(request) -> bool:
    return request.path.startswith(HTML_PREFIXES)


def handler404(request, exception=None):
    if not _is_admin_page(request):
        return json_error(request, "ResourceNotFound", "No endpoint matches this path.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if not _is_admin_page(request):
        return json_error(request, *INTERNAL_ERROR, 500)
    from django.views.defaults import server_error

    return server_error(request)


def _payload_too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"The request body must be at most {limit} bytes.", details={"maxBytes": limit})


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # raised by Django itself, outside any DRF view
        error = _payload_too_large()
        return JsonResponse(error_body(error.name, error.message, 413, error.details), status=413)
    return json_error(request, "ValidationError", "Bad request.", 400)


def handler403(request, exception=None):
    if not _is_admin_page(request):
        return json_error(request, "Forbidden", "You do not have permission to perform this action.", 403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: the admin's forms keep Django's page; anywhere else a refusal is JSON."""
    if not _is_admin_page(request):
        return json_error(request, "Forbidden", "Cross-site request refused: CSRF verification failed.", 403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
