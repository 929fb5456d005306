"""The status poll answered: `GET /v1/cart-tryons/{id}` and `GET /v1/tryons/{id}` with ETag and 304.

With PostgreSQL + Redis, one Redis round trip (`MGET` of the stamp and the cached answer) decides:
- the client's `If-None-Match` names the stamp's token (fresh, same version): 304, no query, no body;
- else, the cached answer carries the stamp's token and its signed URLs have the margin left
  (api.conditional.url_freshness_margin): it is sent as stored, bytes and all, without a query;
- else the resource is read (tenant-checked: another organization's id is the 404 it always was), the
  answer built and rendered once, and stored with the token in one Lua call that first checks the stamp is
  still what was seen before the read (tryons.poll_stamps explains why that keeps stamps honest).
So a changed session is built once per change (and again when its links near expiry), whatever the
number of partners' requests. The cache holds the newest version's bytes; an older version's answer is
taken down from them at the edge (api.versions.version_stamp). Without Redis, row digests decide
(api.conditional.row_conditional).

A 304 from the stamp is not counted against the key's rate limit when admission saw it (apikeys.admission:
the stamp is read in its round trip); see README "Conditional polling".
"""

import secrets
import time

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.conditional import (
    ANY,
    IF_NONE_MATCH,
    Validator,
    answering_version,
    if_none_match,
    matching,
    not_modified,
    row_conditional,
    url_freshness_margin,
    urls_expire_from,
)
from apikeys.admission import ConditionalProbe
from infrastructure.shared_cache import redis_hot_client
from tryons.poll_stamps import STAMP_TTL_SECONDS, stamp_key

__all__ = ["IF_NONE_MATCH", "POLL_DESCRIPTION", "poll_answer", "poll_probe"]

POLL_DESCRIPTION = (
    "Poll with `If-None-Match`: while nothing changed the answer is 304 with no body, which is not counted "
    "against your key's rate limit (it has its own ceiling, `X-RateLimit-Conditional-*`). The `ETag` names "
    'the state, the API version and when the answer\'s signed URLs expire. README, "Conditional polling".'
)
_RENDERER = JSONRenderer()
_ANSWER_KEY = "gx:poll:answer:"

# Install the answer only if the stamp is still what the reader saw before reading PostgreSQL (ARGV[1], ""
# for none); a stamp not yet labelled for this organization gets the new token ARGV[3]. Answers the token.
# KEYS: stamp, answer. ARGV: seen, organization, new token, signedAt, answer bytes, stamp TTL, answer TTL.
_INSTALL_LUA = """
local now = redis.call('GET', KEYS[1]) or ''
if now ~= ARGV[1] then return false end
local prefix = ARGV[2] .. '|'
local token = ARGV[3]
if string.sub(now, 1, #prefix) == prefix then
  token = string.sub(now, #prefix + 1)
else
  redis.call('SET', KEYS[1], prefix .. token, 'EX', ARGV[6])
end
redis.call('SET', KEYS[2], token .. '|' .. ARGV[4] .. '|' .. ARGV[5], 'EX', ARGV[7])
return token
"""
_install_script = None


def answer_key(organization_id: str, ref: str) -> str:
    return f"{_ANSWER_KEY}{organization_id}:{ref}"


def poll_answer(request, *, ref: str, organization_id: str, load, build):
    """Answer a GET of the session or try-on `ref` (tryons.poll_stamps) for `organization_id`.

    `load()` reads it through its selector (ResourceNotFound for another organization's id), `build(obj)`
    is its serializer's data. Never answers 304 for a state it has not seen labelled for this organization.
    """
    version = answering_version(request)
    client = redis_hot_client()
    if client is None:
        return _by_rows(request, load, build, version)
    asked = if_none_match(request)
    probe = getattr(request._request, "conditional_probe", None)
    if probe is not None and probe.matched is not None:
        # Admission found the stamp, this organization's, naming a token the client holds.
        held = matching(asked, state=probe.matched, version=version)
        if held is not None:
            return not_modified(held)
    seen_stamp, cached = client.mget([stamp_key(ref), answer_key(organization_id, ref)])
    seen = (seen_stamp or b"").decode()
    owner, _, token = seen.partition("|")
    if owner == organization_id:
        held = matching(asked, state=token, version=version)
        if held is not None:
            return not_modified(held)
        if cached is not None:
            stored_token, signed_at, body = cached.split(b"|", 2)
            expires = urls_expire_from(int(signed_at))
            if stored_token.decode() == token and expires - time.time() >= url_freshness_margin():
                if asked == ANY:
                    return not_modified(Validator(token, expires, version))
                return _json(body, Validator(token, expires, version))
    signed_at = int(time.time())  # before building: the URLs expire no earlier than this says
    data = build(load())
    body = _RENDERER.render(data)
    token = _install(client, ref, organization_id, seen, signed_at, body)
    validator = Validator(token, urls_expire_from(signed_at), version)
    if asked == ANY or matching(asked, state=token, version=version) is not None:
        return not_modified(validator)
    return _json(body, validator)


def poll_probe(request, ref: str) -> ConditionalProbe | None:
    """What admission checks for a conditional GET of `ref`: the tokens of the client's fresh validators
    (in the version the header asks for, when it names one; the pin is checked once the key is known)."""
    asked = if_none_match(request)
    if not asked or asked == ANY:
        return None
    asked_version = getattr(request._request, "api_version", None)
    now = time.time()
    tokens = [v.state for v in asked if v.fresh(now) and asked_version in (None, v.version)]
    return ConditionalProbe(stamp_key(ref), tokens) if tokens else None


def _install(client, ref: str, organization_id: str, seen: str, signed_at: int, body: bytes) -> str:
    global _install_script
    if _install_script is None:
        _install_script = client.register_script(_INSTALL_LUA)
    answer_ttl = max(
        1, min(STAMP_TTL_SECONDS, urls_expire_from(signed_at) - url_freshness_margin() - signed_at)
    )
    token = _install_script(
        keys=[stamp_key(ref), answer_key(organization_id, ref)],
        args=[seen, organization_id, secrets.token_hex(8), signed_at, body, STAMP_TTL_SECONDS, answer_ttl],
        client=client,
    )
    # Changed since it was seen: this answer is labelled with a token no stamp will ever hold.
    return token.decode() if token else "x" + secrets.token_hex(8)


def _json(body: bytes, validator: Validator) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = validator.etag
    return response


def _by_rows(request, load, build, version: str):
    """Embedded mode: the rows read are the state (api.conditional.row_conditional)."""
    obj = load()
    rows = (obj, *getattr(obj, "_prefetched_objects_cache", {}).get("items", ()))
    return row_conditional(request, rows=rows, render=lambda: Response(build(obj)))
