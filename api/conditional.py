"""Conditional GETs: the `ETag` every single resource answers with, and `If-None-Match` answered 304.

A validator here is weak (`W/"…"`): it names what the answer says, not its bytes, because every answer
carries signed URLs minted for it. It has three parts, `W/"<state>-<urlsExpire>-<version>"`:
- `state`: what the resource is now — a version stamp (tryons.polls: cart sessions and try-ons, kept in
  Redis) or a digest of the rows the answer is built from (`rows_digest`: customers, webhooks, garments);
- `urlsExpire`: when the signed URLs of the answer that carried it expire (unix seconds). A client's copy
  is only "not modified" while its URLs have at least `url_freshness_margin()` left, so a 304 never keeps
  a client on links about to expire: past that, the same request is answered 200 with fresh links;
- `version`: the API version that answered (`Garmax-Version`, api/versions.py), so an answer in one
  version never validates a copy in another.

`If-None-Match` is compared weakly (RFC 9110 13.1.2: `W/"x"` and `"x"` match), takes a list, and `*`
matches any current representation. A malformed header matches nothing (the answer is a 200, as without
it). Clients that send no `If-None-Match` are answered exactly as before, with the `ETag` added.
"""

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter

from api.versions import LATEST

HEADER = "HTTP_IF_NONE_MATCH"
# One entity tag of a list: optional W/, then a quoted string without quotes inside.
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')
_OURS = re.compile(r"^([A-Za-z0-9_]{1,64})-(\d{1,12})-(\d{8})$")
ANY = "*"

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The `ETag` of your copy: 304 Not Modified (no body) while it is current and its signed URLs "
    "have at least half their lifetime left.",
)
CONDITIONAL_DESCRIPTION = (
    "Answers an `ETag`; send it back in `If-None-Match` and an unchanged resource is answered 304 with no "
    'body. README, "Conditional polling".'
)


@dataclass(frozen=True)
class Validator:
    """One of our validators: the resource's state, when its answer's URLs expire, the answering version."""

    state: str
    expires: int
    version: str

    @property
    def etag(self) -> str:
        return f'W/"{self.state}-{self.expires}-{self.version.replace("-", "")}"'

    def fresh(self, now: float | None = None) -> bool:
        """Whether a copy carrying this validator may still be used: its URLs have the margin left."""
        return self.expires - (time.time() if now is None else now) >= url_freshness_margin()


def url_freshness_margin() -> int:
    """Seconds of life a signed URL must have left to be served (in a cached answer or behind a 304):
    half the TTL, so a partner always gets links that live at least that long after our answer."""
    return settings.SIGNED_URL_TTL_SECONDS // 2


def urls_expire_from(signed_at: float) -> int:
    """When URLs signed at `signed_at` expire (storage_signed_url's TTL; rounded down, so never later)."""
    return int(signed_at) + settings.SIGNED_URL_TTL_SECONDS


def answering_version(request) -> str:
    """The API version that answers `request` (api.versions.version_stamp's rule): asked for in
    `Garmax-Version`, else the organization's pin, else the newest."""
    django_request = getattr(request, "_request", request)
    return (
        getattr(django_request, "api_version", None)
        or getattr(django_request, "api_version_pinned", None)
        or LATEST
    )


def if_none_match(request) -> list[Validator] | str | None:
    """The validators `If-None-Match` names (only ours; others can never match), ANY for `*`, or None
    without the header. A malformed header is read as naming nothing."""
    raw = request.META.get(HEADER)
    if raw is None:
        return None
    if raw.strip() == ANY:
        return ANY
    found, at = [], 0
    while at < len(raw) and len(found) < 16:  # bounded: a header of thousands of tags is no poll
        match = _TAG.match(raw, at)
        if match is None:
            return []
        ours = _OURS.match(match.group(2))
        if ours is not None:
            state, expires, version = ours.groups()
            found.append(Validator(state, int(expires), f"{version[:4]}-{version[4:6]}-{version[6:]}"))
        at = match.end()
    return found


def matching(asked: list[Validator] | str | None, *, state: str, version: str) -> Validator | None:
    """The first validator asked for that names `state` in `version` and is still fresh, else None."""
    if not asked or asked == ANY:
        return None
    now = time.time()
    for validator in asked:
        if validator.state == state and validator.version == version and validator.fresh(now):
            return validator
    return None


def not_modified(validator: Validator) -> HttpResponseNotModified:
    """304, no body, the validator the client holds (its copy stays the current one)."""
    response = HttpResponseNotModified()
    response["ETag"] = validator.etag
    return response


def rows_digest(*values: Iterable) -> str:
    """A digest of what an answer is built from: model instances (every loaded field, annotations
    included) and plain values. Any change of a column the answer may show changes it."""
    digest = hashlib.blake2b(digest_size=12)
    for value in values:
        fields = getattr(value, "__dict__", None)
        if fields is not None:
            value = sorted((k, v) for k, v in fields.items() if not k.startswith("_"))
        digest.update(repr(value).encode())
    return digest.hexdigest()


def row_conditional(request, *, rows: tuple, render):
    """Answer a single-resource GET whose state is its rows (already read, tenant-checked): 304 when the
    client's copy is current and fresh, without building the answer; else `render()` with its ETag."""
    version = answering_version(request)
    state = rows_digest(version, *rows)
    asked = if_none_match(request)
    held = matching(asked, state=state, version=version)
    now = time.time()
    if held is None and asked == ANY:
        held = Validator(state, urls_expire_from(now), version)
    if held is not None:
        return not_modified(held)
    response = render()
    response["ETag"] = Validator(state, urls_expire_from(now), version).etag
    return response
