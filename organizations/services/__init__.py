"""Organizations and their credits, by concept: the ledger (the only code that changes a balance), credit
top-ups, charges, refunds and adjustments, the low-balance alert, the sandbox, settings and organizations.

Views, tasks, the admin and other apps import the service names from here.
"""

from organizations.services.credits import (
    credits_adjust,
    credits_charge,
    credits_refund,
    credits_top_up,
    user_can_add_credits,
)
from organizations.services.ledger import to_credits
from organizations.services.low_balance import (
    LowBalanceEmailFailed,
    low_balance_alert_rearm,
    low_balance_email_send,
)
from organizations.services.organization_settings import (
    LOW_BALANCE_THRESHOLD_MAX,
    organization_settings_clean,
)
from organizations.services.organizations import (
    SIGNUP_GRANT_REFERENCE,
    membership_for,
    organization_create,
    organization_set_status,
    organization_update,
)
from organizations.services.sandbox import SANDBOX_GRANT_REFERENCE, organization_sandbox, sandbox_reset

__all__ = [
    "LOW_BALANCE_THRESHOLD_MAX",
    "SANDBOX_GRANT_REFERENCE",
    "SIGNUP_GRANT_REFERENCE",
    "LowBalanceEmailFailed",
    "credits_adjust",
    "credits_charge",
    "credits_refund",
    "credits_top_up",
    "low_balance_alert_rearm",
    "low_balance_email_send",
    "membership_for",
    "organization_create",
    "organization_sandbox",
    "organization_set_status",
    "organization_settings_clean",
    "organization_update",
    "sandbox_reset",
    "to_credits",
    "user_can_add_credits",
]
