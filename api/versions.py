"""Dated API versions (`Garmax-Version: YYYY-MM-DD`): declared once, here, oldest first, with what changed.

Stripe's model: the services and serializers always speak the newest version; an older one is served by
transforms at the edges. Each version after the first says, per change, how to bring a request written for
the version before it up to itself (`request`), how to take its own answer back down to the version before
it (`response`), and the same for webhook payloads (`payload`). A request answered in version V runs the
request transforms of every version after V (oldest first), the view, then the response transforms of every
version after V (newest first). Both run in api.middleware.RequestIdMiddleware, around everything else, so
nothing from the views down knows that versions exist.

Which version answers: the `Garmax-Version` request header; else the organization's pinned version (the
newest when it was created, shown in /v1/account, changed by its owner with the organization PATCH); else
the newest. Every /api response carries `Garmax-Version` with the version that answered it. The changelog
(/api/docs/changelog, CHANGELOG.md) is rendered from VERSIONS.
"""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HEADER = "Garmax-Version"
META_KEY = "HTTP_GARMAX_VERSION"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Change:
    """One change a version made, with the transforms that serve the version before it."""

    description: str
    method: str = ""  # the operation it concerns (e.g. POST), with `path`
    path: str = ""  # a regular expression the whole request path matches, e.g. r"/api/v1/cart-tryons"
    event: str = ""  # the webhook event type its `payload` transform concerns
    # The previous version's request body → this version's.
    request: Callable[[Any], Any] | None = None
    # This version's (status, body) → the previous version's.
    response: Callable[[int, Any], tuple[int, Any]] | None = None
    # This version's webhook `data` → the previous version's.
    payload: Callable[[dict], dict] | None = None

    def concerns(self, method: str, path: str) -> bool:
        return bool(self.method) and self.method == method and re.fullmatch(self.path, path) is not None

    def as_json(self) -> dict:
        described = {"description": self.description}
        if self.method:
            described["operation"] = f"{self.method} {self.path}"
        if self.event:
            described["event"] = self.event
        return described


@dataclass(frozen=True)
class ApiVersion:
    date: str
    summary: str
    changes: tuple[Change, ...] = ()


def _created_answers_201(status: int, body: Any) -> tuple[int, Any]:
    # A replayed create (same cartId and items) also answered 201 then: a new session or the same one.
    return (201 if status == 200 else status), body


VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion(
        "2026-01-15",
        "The first version: the partner API reference as published, cart try-on create answering 201.",
    ),
    ApiVersion(
        "2026-11-01",
        "Cart try-on create answers 200, as the partner API reference's PHP client requires.",
        changes=(
            Change(
                "POST /v1/cart-tryons answers 200 (was 201) for a new session and for a replay of the same "
                "cart; compare `createdAt` to tell them apart.",
                method="POST",
                path=r"/api/v1/cart-tryons",
                response=_created_answers_201,
            ),
        ),
    ),
)

KNOWN = tuple(version.date for version in VERSIONS)
LATEST = KNOWN[-1]
_INDEX = {date: index for index, date in enumerate(KNOWN)}


def latest_version() -> str:
    """The newest version: what a new organization is pinned to (a callable, for the model default)."""
    return LATEST


def version_problem(value: str) -> str | None:
    """Why `value` is not a version this API answers in, or None when it is one."""
    if value in _INDEX:
        return None
    known = ", ".join(reversed(KNOWN))
    if _DATE.fullmatch(value):
        return f"Unknown API version {value}. Known versions: {known}."
    # Not echoed: it may be anything (control characters, kilobytes).
    return f"{HEADER} must be one of the known versions, a date YYYY-MM-DD: {known}."


def _newer_than(version: str) -> tuple[ApiVersion, ...]:
    return VERSIONS[_INDEX[version] + 1 :]


def payload_in_version(version: str, *, event: str, data: dict) -> dict:
    """A webhook event's `data` as the newest version builds it, taken back down to `version`. An unknown
    version (none is ever stored, but a row may predate a version's removal) is served the oldest."""
    start = _INDEX.get(version, 0)
    for newer in reversed(VERSIONS[start + 1 :]):
        for change in newer.changes:
            if change.payload is not None and change.event == event:
                data = change.payload(data)
    return data


def changelog() -> dict:
    """The machine-readable changelog (/api/docs/changelog), newest version first."""
    return {
        "header": HEADER,
        "latest": LATEST,
        "versions": [
            {
                "version": version.date,
                "summary": version.summary,
                "changes": [change.as_json() for change in version.changes],
            }
            for version in reversed(VERSIONS)
        ],
    }


def changelog_markdown() -> str:
    """CHANGELOG.md, rendered from the same declaration (the contract test holds the file to it)."""
    lines = [
        "# API changelog",
        "",
        f"Dated API versions: send `{HEADER}: YYYY-MM-DD` to choose one; without it your",
        "organization's pinned version answers (the newest when it was created; its owner changes it",
        "with `PATCH /api/organizations/{organizationId}` `apiVersion`). Every response names the version",
        f"that answered in `{HEADER}`. Machine-readable at `/api/docs/changelog`. Generated from",
        "`api/versions.py` by `.venv/bin/python manage.py api_contract --write`.",
        "",
    ]
    for entry in changelog()["versions"]:
        lines += [f"## {entry['version']}", "", entry["summary"], ""]
        for change in entry["changes"]:
            where = change.get("operation") or change.get("event")
            lines.append(f"- {change['description']}" + (f" (`{where}`)" if where else ""))
        if entry["changes"]:
            lines.append("")
    return "\n".join(lines)


# --- The request edge (api.middleware.RequestIdMiddleware calls these on every request) -----------------
API_PREFIX = "/api/"


def version_refusal(request):
    """A 400 in the error format for a `Garmax-Version` header naming no known version, else None; marks
    the request with the version it asked for (`request.api_version`, None without the header)."""
    request.api_version = None
    if not request.path_info.startswith(API_PREFIX):
        return None
    requested = request.META.get(META_KEY)
    if requested is None:
        return None
    problem = version_problem(requested)
    if problem is None:
        request.api_version = requested
        _request_upgrade(request, requested)
        return None
    from django.http import JsonResponse

    from api.errors import error_body

    details = {HEADER: [problem], "knownVersions": list(reversed(KNOWN))}
    return JsonResponse(error_body("ValidationError", problem, 400, details), status=400)


def _request_upgrade(request, version: str) -> None:
    """A JSON body written for `version`, brought up to the newest by its request transforms (oldest first),
    before any view reads it. Only a route a change concerns pays for parsing it."""
    changes = [
        change
        for newer in _newer_than(version)
        for change in newer.changes
        if change.request is not None and change.concerns(request.method, request.path_info)
    ]
    if not changes or request.content_type != "application/json":
        return
    body = json.loads(request.body or b"null")
    for change in changes:
        body = change.request(body)
    # Django reads the body once into _body and serves later reads (DRF's parser) from _stream.
    request._body = json.dumps(body).encode()
    request._stream = io.BytesIO(request._body)
    request.META["CONTENT_LENGTH"] = str(len(request._body))


def version_stamp(request, response) -> None:
    """`Garmax-Version` on every /api response, naming the version that answered it: the header's, else the
    organization's pin (`request.api_version_pinned`, set where the caller is known), else the newest. An
    older version's answer is the newest one taken back down by its response transforms, here at the edge."""
    if not request.path_info.startswith(API_PREFIX):
        return
    version = getattr(request, "api_version", None) or getattr(request, "api_version_pinned", None) or LATEST
    response[HEADER] = version
    if version == LATEST:
        return
    changes = [
        change
        for newer in reversed(_newer_than(version))
        for change in newer.changes
        if change.response is not None and change.concerns(request.method, request.path_info)
    ]
    if not changes:
        return
    is_json = response.get("Content-Type", "").startswith("application/json") and not response.streaming
    body = json.loads(response.content) if is_json and response.content else None
    status, changed = response.status_code, body
    for change in changes:
        status, changed = change.response(status, changed)
    response.status_code = status
    if changed is not body:
        from rest_framework.renderers import JSONRenderer

        response.content = JSONRenderer().render(changed)
