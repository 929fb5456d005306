"""The organization id partners know: the live one, in test mode too.

A test key acts as its organization's sandbox (organizations.services.organization_sandbox), a second
Organization row with an id of its own. That id is an internal detail: every response, payload, storage
key and signed URL names the live organization instead, and a test-mode object is told apart by
`livemode` / the `test/` segment of its storage key, never by another organization id.
"""

from rest_framework import serializers

from infrastructure.storage import storage_key
from organizations.models import Organization

# Sandbox → live never changes once made (one sandbox per organization, never re-pointed), and ids are
# never reused, so each web process remembers the answers it has read. Bounded: a process serves at most
# this many organizations' sandboxes before it forgets (and reads again).
_REMEMBERED = 10_000
_live_of: dict[str, tuple[str, bool]] = {}


def _live(organization_id: str) -> tuple[str, bool]:
    """(the live organization's id, whether `organization_id` is a sandbox)."""
    known = _live_of.get(organization_id)
    if known is not None:
        return known
    sandbox_of = (
        Organization.objects.filter(pk=organization_id).values_list("sandbox_of_id", flat=True).first()
    )
    answer = (sandbox_of, True) if sandbox_of else (organization_id, False)
    if len(_live_of) >= _REMEMBERED:
        _live_of.clear()
    _live_of[organization_id] = answer
    return answer


def partner_organization_id(organization_id: str) -> str:
    """The id to show a partner for `organization_id`: its live organization's if it is a sandbox."""
    return _live(organization_id)[0]


def partner_storage_key(*, organization_id: str, kind: str, object_id: str, extension: str) -> str:
    """infrastructure.storage.storage_key under the live organization: a sandbox's objects are stored at
    enterprise/org-{liveId}/test/{kind}/{objectId}.{ext}. Objects already stored under a sandbox's own id
    keep their keys (rows hold the key they were stored at, and are looked up by it)."""
    live_id, is_test = _live(organization_id)
    return storage_key(
        organization_id=live_id,
        kind=f"test/{kind}" if is_test else kind,
        object_id=object_id,
        extension=extension,
    )


class PartnerOrganizationIdField(serializers.CharField):
    """`organizationId` of an object: the live organization's id, also for test-mode objects."""

    def to_representation(self, value):
        return partner_organization_id(str(value))
