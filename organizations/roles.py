"""Who in an organization may do what: the membership roles and the permissions each grants, declared once.

Every JWT endpoint names the permission it needs (organizations.access); the README's "Team and roles"
table is held to ROLE_PERMISSIONS by a test.
"""

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # exactly one per organization; hands the organization over by transferring ownership
    ADMIN = "admin"
    DEVELOPER = "developer"
    BILLING = "billing"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"  # the organization, its members, keys, usage, request log and credit ledger
    MANAGE_KEYS = "manage_keys"  # create, change, roll and revoke API keys
    MANAGE_TEST_MODE = "manage_test_mode"  # reset the test-mode sandbox
    # webhook endpoints in the portal: add, change, test, redeliver, recover, rotate secrets, re-enable
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_BILLING = "manage_billing"  # the billing email and the low-balance threshold
    MANAGE_ORGANIZATION = "manage_organization"  # name, domain and the other settings
    MANAGE_MEMBERS = "manage_members"  # add and invite members, change their roles, remove them
    TRANSFER_OWNERSHIP = "transfer_ownership"
    # The organization's pinned API version (Garmax-Version): it changes what every integration receives.
    PIN_API_VERSION = "pin_api_version"


_DEVELOPER = {
    Permission.READ,
    Permission.MANAGE_KEYS,
    Permission.MANAGE_WEBHOOKS,
    Permission.MANAGE_TEST_MODE,
}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(set(Permission) - {Permission.TRANSFER_OWNERSHIP, Permission.PIN_API_VERSION}),
    Role.DEVELOPER: frozenset(_DEVELOPER),
    Role.BILLING: frozenset({Permission.READ, Permission.MANAGE_BILLING}),
    Role.VIEWER: frozenset({Permission.READ}),
}
ROLE_NAMES = [role.value for role in Role]
# The roles a member can be added or invited with: the owner is only ever made by a transfer.
ASSIGNABLE_ROLES = [role.value for role in Role if role != Role.OWNER]
# The organization's fields (PATCH) that are billing's to change; the others need MANAGE_ORGANIZATION.
BILLING_FIELDS = {"billing_email"}
BILLING_SETTINGS = {"lowBalanceThreshold"}
OWNER_FIELDS = {"api_version"}  # PIN_API_VERSION's


def role_allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in ROLE_NAMES else False


def update_permissions(changes: dict) -> set[Permission]:
    """The permissions an organization update needs: billing's fields alone need MANAGE_BILLING."""
    settings = changes.get("settings") or {}
    billing = any(name in BILLING_FIELDS for name in changes) or any(
        name in BILLING_SETTINGS for name in settings
    )
    other = any(name not in BILLING_FIELDS | OWNER_FIELDS | {"settings"} for name in changes) or any(
        name not in BILLING_SETTINGS for name in settings
    )
    needed = {Permission.MANAGE_BILLING} if billing else set()
    needed |= {Permission.PIN_API_VERSION} if OWNER_FIELDS & set(changes) else set()
    return needed | ({Permission.MANAGE_ORGANIZATION} if other or not needed else set())
