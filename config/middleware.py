import re
import uuid

from config.request_context import reset_request_id, set_request_id

# Accept a caller's id only if it is short and harmless to echo into logs and headers.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's, if sane) and returns it as `X-Request-Id`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-Id"] = request_id
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
            from config.errors import json_error

            return json_error(request, "ValidationError", "The URL must not contain NUL characters.", 400)
        return self.get_response(request)
