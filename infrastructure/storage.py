"""Private object storage for photos and results, handed out only as expiring signed URLs.

S3 (django-storages) when S3_BUCKET_NAME is set: objects are private and URLs are presigned GETs.
Embedded: the local disk, with URLs signed by us (HMAC over name and expiry) and served by `serve_signed`.
No object is ever reachable by a permanent public URL.
"""

import hashlib
import hmac
import mimetypes
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from api.errors import method_not_allowed


def storage_key(*, organization_id: str, kind: str, object_id: str, extension: str) -> str:
    """The one layout of stored objects: enterprise/org-{orgId}/{kind}/{objectId}.{ext}.

    `kind` is photos (customers), results or garments (tryons); partners see photo keys as
    `customerPhotoS3Key`, so the layout is part of the API.
    """
    return f"enterprise/org-{organization_id}/{kind}/{object_id}.{extension}"


def storage_uses_s3() -> bool:
    """Whether objects live in S3 (S3_BUCKET_NAME), not on this host's disk (the embedded default)."""
    return bool(settings.S3_BUCKET_NAME)


def storage_save(name: str, content: bytes | File) -> str:
    """Store `content` (bytes, or a file copied in chunks) under exactly `name` (overwriting)."""
    if not storage_uses_s3() and default_storage.exists(name):
        default_storage.delete(name)  # FileSystemStorage would otherwise pick a new name
    saved = default_storage.save(name, content if isinstance(content, File) else ContentFile(content))
    if saved != name:
        raise RuntimeError(f"storage saved {name!r} as {saved!r}")
    return saved


def storage_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def storage_open(name: str):
    """The stored object as a binary file to read from (the caller closes it)."""
    return default_storage.open(name, "rb")


def storage_exists(name: str) -> bool:
    return default_storage.exists(name)


def storage_delete(name: str) -> None:
    """Delete `name`; a missing object is fine, any other failure raises so the caller can retry."""
    default_storage.delete(name)


def _signature(name: str, expires: int) -> str:
    key = hashlib.sha256(b"garmax-signed-media:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{name}\n{expires}".encode(), hashlib.sha256).hexdigest()


def storage_signed_url(name: str, *, ttl: int | None = None) -> str:
    """An absolute URL that lets anyone holding it GET the object until it expires."""
    ttl = ttl or settings.SIGNED_URL_TTL_SECONDS
    if storage_uses_s3():
        return default_storage.url(name, expire=ttl)
    expires = int(time.time()) + ttl
    query = urlencode({"expires": expires, "signature": _signature(name, expires)})
    return f"{settings.PUBLIC_BASE_URL}{reverse('signed-media', args=[name])}?{query}"


@csrf_exempt  # read-only: other methods are a JSON 405, not Django's CSRF page
def serve_signed(request, name: str):
    """GET /media/signed/<name>?expires=…&signature=… (embedded mode only).

    Refusals are the seed's JSON 404 (api.errors.handler404), like every error outside the admin."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    if storage_uses_s3():
        raise Http404
    try:
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        raise Http404 from None
    signature = request.GET.get("signature", "")
    if expires < time.time() or not hmac.compare_digest(signature, _signature(name, expires)):
        raise Http404  # expired and forged links look the same: not found
    if ".." in name.split("/") or not default_storage.exists(name):
        raise Http404
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=60"
    return response
