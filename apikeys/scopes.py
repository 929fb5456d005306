"""The scopes an API key can hold (seed 001 "API Scopes")."""

TRYON_CREATE = "tryon:create"
TRYON_READ = "tryon:read"
PHOTOS_UPLOAD = "photos:upload"
PHOTOS_READ = "photos:read"
CUSTOMERS_CREATE = "customers:create"
CUSTOMERS_READ = "customers:read"
WEBHOOKS_MANAGE = "webhooks:manage"
ACCOUNT_READ = "account:read"
USAGE_READ = "usage:read"
GARMENTS_READ = "garments:read"
GARMENTS_WRITE = "garments:write"
ALL = "all"

SCOPES = {
    TRYON_CREATE: "Create try-on sessions",
    TRYON_READ: "View try-on sessions and results",
    PHOTOS_UPLOAD: "Upload customer photos",
    PHOTOS_READ: "View customer photos",
    CUSTOMERS_CREATE: "Create/update external customers",
    CUSTOMERS_READ: "View external customers",
    WEBHOOKS_MANAGE: "Configure webhooks",
    ACCOUNT_READ: "View the organization's balance and credit ledger (of the key's mode)",
    USAGE_READ: "View the organization's usage analytics and request logs",
    GARMENTS_READ: "View the garment catalogue",
    GARMENTS_WRITE: "Register, refresh and delete catalogue garments",
    ALL: "Full access to all operations",
}


def grants(held, needed: str) -> bool:
    return ALL in held or needed in held
